#include "tests/catch.h"
#include "tasks/registry.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "tasks/classification/run_model.h"
#include "tasks/classification/task.h"
#include "core/config.h"
#include "data/text/factory.h"
#include "tasks/pretraining/task.h"
#include "tests/common/synthetic.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;
namespace pt = attune::pretraining;

namespace {

// ids 0..4 are [PAD] [UNK] [CLS] [SEP] [MASK]; 5..599 start words; 600..999 continue them.
pt::TokenFlags synthetic_flags() {
  pt::TokenFlags f;
  f.special.assign(1000, 0);
  f.continuation.assign(1000, 0);
  for (int id : {0, 2, 3, 4}) f.special[id] = 1;
  for (int id = 600; id < 1000; ++id) f.continuation[id] = 1;
  f.mask_id = 4;
  return f;
}

// Rows of [CLS] words [SEP] [PAD]...: words of 1-4 pieces, some rows padded.
torch::Tensor synthetic_ids(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  torch::Tensor ids = torch::zeros({rows, cols}, torch::kLong);
  auto a = ids.accessor<int64_t, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t len = cols - static_cast<int64_t>(rng() % 20);
    a[r][0] = 2;
    int64_t c = 1;
    while (c < len - 1) {
      a[r][c++] = 5 + rng() % 595;
      const int pieces = static_cast<int>(rng() % 4);
      for (int k = 0; k < pieces && c < len - 1; ++k) a[r][c++] = 600 + rng() % 400;
    }
    a[r][len - 1] = 3;
  }
  return ids;
}

std::vector<uint64_t> seeds_for(int64_t rows, uint64_t base) {
  std::vector<uint64_t> s;
  for (int64_t r = 0; r < rows; ++r) s.push_back(pt::mix_seed({base, static_cast<uint64_t>(r)}));
  return s;
}

json mlm_config(const std::string& dir, const std::string& run_name) {
  json c = pt::default_config();
  attune::config::apply_overrides(
      c, {"run_dir=" + dir + "/" + run_name, "device=cpu", "threads=1", "data.train=" + dir + "/train.txt",
          "data.valid=" + dir + "/valid.txt", "tokenizer.vocab_size=200", "model.preset=null",
          "model.hidden_size=64", "model.num_layers=1", "model.num_heads=2", "model.intermediate_size=128",
          "mlm.max_length=32", "train.epochs=2", "train.batch_size=8", "train.eval_batch_size=16",
          "train.lr=3e-3", "train.log_every=5", "train.checkpoint_every=7", "train.eval_every=10"});
  return c;
}

std::string mlm_text(const std::string& name) {
  const std::string dir = attune::testing::temp_dir(name);
  attune::testing::write_sentences(dir + "/train.txt", 800, 1);
  attune::testing::write_sentences(dir + "/valid.txt", 100, 2);
  return dir;
}

attune::engine::TrainFlags mlm_quiet(std::ostringstream& log) {
  attune::engine::TrainFlags f;
  f.log = &log;
  return f;
}

std::vector<json> mlm_valid_evals(const std::string& metrics_path) {
  std::ifstream f(metrics_path);
  std::vector<json> out;
  for (std::string l; std::getline(f, l);) {
    json j = json::parse(l);
    if (j["split"] == "valid") out.push_back(j);
  }
  return out;
}

}  // namespace

TEST_CASE("masking selects 15% of ordinary tokens and corrupts them 80/10/10", "[mlm][masking]") {
  const torch::Tensor ids = synthetic_ids(256, 128, 7);
  const pt::TokenFlags flags = synthetic_flags();
  const pt::MaskedBatch m = pt::mask_tokens(ids, seeds_for(256, 1), flags, pt::MaskingOptions());
  auto in = ids.accessor<int64_t, 2>();
  auto out = m.input_ids.accessor<int64_t, 2>();
  auto labels = m.labels.accessor<int64_t, 2>();
  int64_t ordinary = 0, selected = 0, masked = 0, kept = 0, replaced = 0;
  for (int64_t r = 0; r < ids.size(0); ++r) {
    for (int64_t c = 0; c < ids.size(1); ++c) {
      const int64_t id = in[r][c];
      if (flags.special[id]) {
        INFO("special token " << id << " at " << r << "," << c);
        REQUIRE(labels[r][c] == pt::kIgnoreLabel);
        REQUIRE(out[r][c] == id);
        continue;
      }
      ++ordinary;
      if (labels[r][c] == pt::kIgnoreLabel) {
        REQUIRE(out[r][c] == id);
        continue;
      }
      REQUIRE(labels[r][c] == id);
      ++selected;
      if (out[r][c] == flags.mask_id) ++masked;
      else if (out[r][c] == id) ++kept;
      else ++replaced;
    }
  }
  REQUIRE(ordinary > 25000);
  CHECK(static_cast<double>(selected) / ordinary == Approx(0.15).margin(0.01));
  CHECK(static_cast<double>(masked) / selected == Approx(0.8).margin(0.025));
  // A random replacement equals the original one time in a thousand: still "kept".
  CHECK(static_cast<double>(kept) / selected == Approx(0.1).margin(0.02));
  CHECK(static_cast<double>(replaced) / selected == Approx(0.1).margin(0.02));

  const pt::MaskedBatch rare = pt::mask_tokens(ids, seeds_for(256, 1), flags, pt::MaskingOptions().probability(0.5));
  CHECK((rare.labels != pt::kIgnoreLabel).sum().item<int64_t>() / static_cast<double>(ordinary) == Approx(0.5).margin(0.01));
}

TEST_CASE("whole-word masking masks every piece of a word or none", "[mlm][masking]") {
  const torch::Tensor ids = synthetic_ids(256, 128, 11);
  const pt::TokenFlags flags = synthetic_flags();
  const pt::MaskedBatch m = pt::mask_tokens(ids, seeds_for(256, 2), flags, pt::MaskingOptions().whole_word(true));
  auto in = ids.accessor<int64_t, 2>();
  auto labels = m.labels.accessor<int64_t, 2>();
  int64_t words = 0, selected_words = 0, split_words = 0, multi_piece_selected = 0;
  for (int64_t r = 0; r < ids.size(0); ++r) {
    int64_t c = 0;
    while (c < ids.size(1)) {
      if (flags.special[in[r][c]]) {
        CHECK(labels[r][c] == pt::kIgnoreLabel);
        ++c;
        continue;
      }
      int64_t end = c + 1;
      while (end < ids.size(1) && flags.continuation[in[r][end]]) ++end;
      int64_t labelled = 0;
      for (int64_t k = c; k < end; ++k) labelled += labels[r][k] != pt::kIgnoreLabel;
      ++words;
      if (labelled == end - c) {
        ++selected_words;
        if (end - c > 1) ++multi_piece_selected;
      } else if (labelled != 0) {
        ++split_words;
      }
      c = end;
    }
  }
  CHECK(split_words == 0);
  CHECK(multi_piece_selected > 100);
  CHECK(static_cast<double>(selected_words) / words == Approx(0.15).margin(0.015));
}

TEST_CASE("masks are a function of the seeds only", "[mlm][masking]") {
  const torch::Tensor ids = synthetic_ids(16, 64, 3);
  const pt::TokenFlags flags = synthetic_flags();
  const pt::MaskedBatch a = pt::mask_tokens(ids, seeds_for(16, 5), flags, pt::MaskingOptions());
  const pt::MaskedBatch b = pt::mask_tokens(ids, seeds_for(16, 5), flags, pt::MaskingOptions());
  CHECK(torch::equal(a.input_ids, b.input_ids));
  CHECK(torch::equal(a.labels, b.labels));
  // A row's masks do not depend on its neighbours: row 3 alone masks as within the batch.
  const pt::MaskedBatch alone = pt::mask_tokens(ids.slice(0, 3, 4), {seeds_for(16, 5)[3]}, flags, pt::MaskingOptions());
  CHECK(torch::equal(alone.labels[0], a.labels[3]));
  const pt::MaskedBatch other = pt::mask_tokens(ids, seeds_for(16, 6), flags, pt::MaskingOptions());
  CHECK(!torch::equal(a.labels, other.labels));
}

TEST_CASE("blocks pack paragraphs as [CLS] pieces [SEP] of max_length", "[mlm]") {
  const std::string dir = mlm_text("mlm-blocks");
  json c = mlm_config(dir, "unused");
  auto tok = attune::text::make_tokenizer(
      attune::config::parse<attune::text::TokenizerConfig>(c["tokenizer"], "tokenizer"), pt::read_lines(dir + "/train.txt"),
      dir + "/tok");
  const std::vector<std::string> lines = {"the cat purrs in the kitchen.", "the dog barks in the garden.",
                                          "the old horse gallops in the stable."};
  const pt::TokenBlocks blocks(lines, *tok, 8, 1);
  const pt::TokenBlocks threaded(lines, *tok, 8, 3);
  int64_t pieces = 0;
  for (const auto& l : lines) pieces += static_cast<int64_t>(tok->encode_plain(l).size()) + 1;
  CHECK(blocks.tokens() == pieces);
  CHECK(blocks.size() == (pieces + 5) / 6);
  const std::vector<int64_t> all = {0, blocks.size() - 1};
  const torch::Tensor ids = blocks.ids(all);
  CHECK(ids.size(1) == 8);
  CHECK(ids[0][0].item<int64_t>() == tok->cls_id());
  CHECK(ids[0][7].item<int64_t>() == tok->sep_id());
  CHECK(blocks.attention_mask(all).sum(1)[1].item<int64_t>() == blocks.length(blocks.size() - 1));
  CHECK(torch::equal(threaded.ids(all), ids));
}

TEST_CASE("masked-LM pretraining lowers held-out loss and resumes exactly", "[mlm][resume]") {
  const std::string dir = mlm_text("mlm-train");
  std::ostringstream log;
  const json a = attune::tasks::train(mlm_config(dir, "a"), mlm_quiet(log));
  INFO(log.str());
  CHECK(a["interrupted"] == false);
  const std::vector<json> evals = mlm_valid_evals(dir + "/a/metrics.jsonl");
  REQUIRE(evals.size() >= 2);
  // An untrained model's loss is near ln(vocab); the grammar is learnable well below that.
  const double chance = std::log(200.0);
  CHECK(evals.front()["loss"].get<double>() > evals.back()["loss"].get<double>() + 0.1);
  CHECK(evals.back()["loss"].get<double>() < 0.7 * chance);
  CHECK(a["valid"]["masked_accuracy"].get<double>() > 0.2);
  CHECK(a["valid"]["perplexity"].get<double>() == Approx(std::exp(a["valid"]["loss"].get<double>())));
  for (const char* f : {"config.json", "model.safetensors", "metrics.jsonl", "results.json", "tokenizer/tokenizer.json"}) {
    CHECK(fs::exists(fs::path(dir) / "a" / f));
  }
  const auto saved = attune::formats::load_safetensors(dir + "/a/model.safetensors");
  CHECK(saved.tensors.count("bert.embeddings.word_embeddings.weight") == 1);
  CHECK(saved.tensors.count("cls.predictions.bias") == 1);
  CHECK(saved.tensors.count("cls.predictions.transform.dense.weight") == 1);

  // evaluate_run on the valid file reproduces the best evaluation (same fixed masks).
  const json again = pt::evaluate_run(dir + "/a", dir + "/valid.txt", {}, "cpu");
  CHECK(again["loss"].get<double>() == Approx(a["valid"]["loss"].get<double>()).epsilon(1e-6));
  CHECK(again["masked_accuracy"] == a["valid"]["masked_accuracy"]);

  // Stop mid-epoch between checkpoints, resume, and end exactly where run a ended.
  auto flags = mlm_quiet(log);
  flags.stop_requested = [](int64_t step) { return step == 9; };
  const json stopped = attune::tasks::train(mlm_config(dir, "b"), flags);
  CHECK(stopped["interrupted"] == true);
  auto resume = mlm_quiet(log);
  resume.resume = true;
  json config = json::parse(std::ifstream(dir + "/b/config.json"));
  const json resumed = attune::tasks::train(config, resume);
  CHECK(resumed["steps"] == a["steps"]);
  const auto last = [](const std::string& run) {
    std::vector<fs::path> cps;
    for (const auto& e : fs::directory_iterator(run)) {
      if (e.path().filename().string().rfind("checkpoint-", 0) == 0) cps.push_back(e.path());
    }
    std::sort(cps.begin(), cps.end());
    return attune::formats::load_safetensors((cps.back() / "model.safetensors").string());
  };
  const auto wa = last(dir + "/a"), wb = last(dir + "/b");
  REQUIRE(wa.names == wb.names);
  for (const auto& n : wa.names) {
    INFO(n);
    CHECK(torch::equal(wa.tensors.at(n), wb.tensors.at(n)));
  }
  CHECK(mlm_valid_evals(dir + "/a/metrics.jsonl").back()["loss"] == mlm_valid_evals(dir + "/b/metrics.jsonl").back()["loss"]);
}

TEST_CASE("a classification run with init = an mlm run starts from its encoder and tokenizer", "[mlm][init]") {
  const std::string dir = mlm_text("mlm-init");
  std::ostringstream log;
  json pre = mlm_config(dir, "pre");
  pre["train"]["epochs"] = 1;
  attune::tasks::train(pre, mlm_quiet(log));
  attune::testing::write_topics_csv(dir + "/cls_train.csv", 60, 1);
  attune::testing::write_topics_csv(dir + "/cls_valid.csv", 20, 2);

  json c = attune::classification::default_config();
  attune::config::apply_overrides(
      c, {"run_dir=" + dir + "/cls", "device=cpu", "init=" + dir + "/pre", "data.train=" + dir + "/cls_train.csv",
          "data.valid=" + dir + "/cls_valid.csv", "data.max_length=24", "train.epochs=1", "train.batch_size=16",
          "train.lr=0", "train.warmup_ratio=0"});
  INFO(log.str());
  attune::tasks::train(c, mlm_quiet(log));
  // lr = 0: the saved encoder is exactly what init loaded.
  const auto mlm = attune::formats::load_safetensors(dir + "/pre/model.safetensors");
  const auto cls = attune::formats::load_safetensors(dir + "/cls/model.safetensors");
  for (const char* name : {"bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight"}) {
    INFO(name);
    CHECK(torch::equal(mlm.tensors.at(name), cls.tensors.at(name)));
  }
  // The pooler, which a masked-LM model lacks, is newly initialised, as in from_pretrained.
  CHECK(cls.tensors.count("bert.pooler.dense.weight") == 1);
  CHECK(json::parse(std::ifstream(dir + "/cls/config.json"))["model"]["hidden_size"] == 64);
  std::ifstream a(dir + "/pre/tokenizer/vocab.txt"), b(dir + "/cls/tokenizer/vocab.txt");
  std::stringstream sa, sb;
  sa << a.rdbuf();
  sb << b.rdbuf();
  CHECK(!sa.str().empty());
  CHECK(sa.str() == sb.str());

  // A bf16 copy of the pretrained run starts the float32 model from the rounded weights.
  attune::formats::NamedTensors half;
  for (const auto& name : mlm.names) half.emplace_back(name, mlm.tensors.at(name).to(torch::kBFloat16));
  attune::formats::save_safetensors(dir + "/pre/model.safetensors", half);
  attune::config::apply_overrides(c, {"run_dir=" + dir + "/cls16"});
  attune::tasks::train(c, mlm_quiet(log));
  const auto cls16 = attune::formats::load_safetensors(dir + "/cls16/model.safetensors");
  const torch::Tensor w = cls16.tensors.at("bert.embeddings.word_embeddings.weight");
  CHECK(w.scalar_type() == torch::kFloat);
  CHECK(torch::equal(w, mlm.tensors.at("bert.embeddings.word_embeddings.weight").to(torch::kBFloat16).to(torch::kFloat)));
}

TEST_CASE("pretraining config errors name the key", "[mlm][errors]") {
  const std::string dir = mlm_text("mlm-errors");
  std::ostringstream log;
  auto error_of = [&](const std::vector<std::string>& overrides) -> std::string {
    json c = mlm_config(dir, "r");
    attune::config::apply_overrides(c, overrides);
    try {
      attune::tasks::train(c, mlm_quiet(log));
    } catch (const attune::UserError& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of({"mlm.mlm_probability=0"}).rfind("mlm.mlm_probability: must be in (0, 1)", 0) == 0);
  CHECK(error_of({"mlm.mlm_probability=1"}).rfind("mlm.mlm_probability: must be in (0, 1)", 0) == 0);
  CHECK(error_of({"mlm.max_length=4"}).rfind("mlm.max_length:", 0) == 0);
  CHECK(error_of({"mlm.max_length=1024"}).find("exceeds model.max_length") != std::string::npos);
  CHECK(error_of({"data.train=" + dir + "/nope.txt"}) == dir + "/nope.txt: file does not exist");
  std::ofstream(dir + "/blank.txt") << "\n  \n";
  CHECK(error_of({"data.valid=" + dir + "/blank.txt"}).rfind(dir + "/blank.txt: no text", 0) == 0);
}
