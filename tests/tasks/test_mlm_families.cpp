// Masked-LM pretraining from transformers' own *ForMaskedLM checkpoints of every family
// with a masked-LM head (tests/fixtures/hf_arch roberta-mlm and distilbert-mlm,
// tests/fixtures/modern_arch modernbert-mlm and deberta-v3-mlm), through init=hf:DIR: the
// run's model before training gives transformers' stored logits, training lowers the
// held-out loss, resume is exact, --to-hf gives the fixture's tensor names back with the
// run's bytes, fill-mask bundles predict as the run does, and a classifier starts from
// the run. Folders without a masked-LM head or a tokenizer fail in one line.
#include "tests/catch.h"

#include "core/config.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "data/text/hf_folder_tokenizer.h"
#include "data/text/hf_tokenizer.h"
#include "data/text/sentencepiece.h"
#include "tasks/bundle/bundle.h"
#include "tasks/classification/hf_bundle.h"
#include "tasks/classification/hf_convert.h"
#include "tasks/classification/task.h"
#include "tasks/pretraining/export.h"
#include "tasks/pretraining/fill_mask.h"
#include "tasks/pretraining/task.h"
#include "tasks/registry.h"
#include "tests/common/errors.h"
#include "tests/common/hf_arch_tokenizer.h"
#include "tests/common/streams.h"
#include "tests/common/synthetic.h"

#include <torch/script.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers to itself.
namespace attune::mlm_families_test {

namespace fs = std::filesystem;
using nlohmann::json;
namespace pt = attune::pretraining;

namespace {

const std::string kFixtures = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures";

struct Family {
  std::string fixture;  // "hf_arch/roberta-mlm"
  std::string model_name;  // the run config's model.name
};

const std::vector<Family>& families() {
  static const std::vector<Family> all = {{"hf_arch/roberta-mlm", "bert"},
                                          {"hf_arch/distilbert-mlm", "bert"},
                                          {"modern_arch/modernbert-mlm", "modernbert"},
                                          {"modern_arch/deberta-v3-mlm", "deberta"}};
  return all;
}

// A copy of the fixture with a tokenizer of its 100 ids, and the words of that tokenizer.
// hf_arch folders get tests/common/hf_arch_tokenizer.h's (RoBERTa: tokenizer.json with
// <mask>; DistilBERT: vocab.txt); modern_arch folders the WordPiece vocab.txt of
// tools/parity/make_family_cases.sh ([PAD] [CLS] [SEP] [UNK] [MASK] w00..w94), whose
// [PAD]/[CLS]/[SEP] ids are the checkpoints' pad/cls/sep ids.
std::vector<std::string> copy_with_tokenizer(const std::string& fixture, const std::string& dir) {
  fs::create_directories(dir);
  for (const char* file : {"config.json", "model.safetensors"}) fs::copy_file(kFixtures + "/" + fixture + "/" + file, dir + "/" + file);
  std::vector<std::string> words;
  if (fixture.rfind("hf_arch/", 0) == 0) {
    testing::write_fixture_tokenizer(dir);
    for (int i = 5; i < 100; ++i) words.push_back("w" + std::to_string(i));
  } else {
    std::string lines = "[PAD]\n[CLS]\n[SEP]\n[UNK]\n[MASK]\n";
    for (int i = 0; i < 95; ++i) {
      words.push_back((i < 10 ? "w0" : "w") + std::to_string(i));
      lines += words.back() + "\n";
    }
    io::write_file_atomic(dir + "/vocab.txt", lines);
  }
  return words;
}

// Runs of consecutive words from the first twelve: each masked word follows from its
// neighbours, and few words are used, so a few steps lower the loss.
void write_corpus(const std::string& path, const std::vector<std::string>& words, int lines, uint32_t seed) {
  std::mt19937 rng(seed);
  std::ofstream out(path);
  for (int l = 0; l < lines; ++l) {
    const int start = static_cast<int>(rng() % 6), length = 4 + static_cast<int>(rng() % 4);
    for (int k = 0; k < length; ++k) out << (k ? " " : "") << words[start + k];
    out << "\n";
  }
}

json run_config(const std::string& dir, const std::string& name, const std::vector<std::string>& extra) {
  json c = pt::default_config();
  std::vector<std::string> overrides = {"run_dir=" + dir + "/" + name, "device=cpu", "threads=1",
                                        "init=hf:" + dir + "/hf", "data.train=" + dir + "/train.txt",
                                        "data.valid=" + dir + "/valid.txt", "mlm.max_length=16",
                                        "train.batch_size=8", "train.eval_batch_size=16", "train.log_every=100",
                                        "train.checkpoint_every=5", "train.eval_every=8", "train.max_steps=24",
                                        "train.lr=5e-3", "train.warmup_ratio=0"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  config::apply_overrides(c, overrides);
  return c;
}

engine::TrainFlags quiet(std::ostringstream& log) {
  engine::TrainFlags f;
  f.log = &log;
  return f;
}

formats::SafetensorsFile last_checkpoint(const std::string& run) {
  std::vector<fs::path> cps;
  for (const auto& e : fs::directory_iterator(run)) {
    if (e.path().filename().string().rfind("checkpoint-", 0) == 0) cps.push_back(e.path());
  }
  REQUIRE(!cps.empty());
  std::sort(cps.begin(), cps.end());
  return formats::load_safetensors((cps.back() / "model.safetensors").string());
}

std::set<std::string> names_of(const std::string& safetensors) {
  const auto file = formats::load_safetensors(safetensors);
  return {file.names.begin(), file.names.end()};
}

// Rows of real tokens (attention mask 1) of (B,T,V) logits, as (N,V).
torch::Tensor real_rows(const torch::Tensor& logits, const torch::Tensor& mask) {
  return logits.flatten(0, 1).index_select(0, mask.flatten().nonzero().squeeze(1));
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

}  // namespace

TEST_CASE("mlm continues transformers' masked LMs of every family: logits, training, resume, --to-hf, bundles, init",
          "[mlm][hf][fixtures]") {
  for (const Family& family : families()) {
    CAPTURE(family.fixture);
    const std::string name = fs::path(family.fixture).filename().string();
    const std::string dir = testing::temp_dir("mlm-family-" + name);
    const std::vector<std::string> words = copy_with_tokenizer(family.fixture, dir + "/hf");
    write_corpus(dir + "/train.txt", words, 240, 1);
    write_corpus(dir + "/valid.txt", words, 40, 2);
    std::ostringstream log;

    // lr 0: the run's model is the folder's; it reproduces transformers' logits, and its
    // held-out loss is the untrained baseline (evaluation masks depend on the blocks only).
    const json zero = tasks::train(run_config(dir, "zero", {"train.lr=0", "train.max_steps=1", "train.eval_every=1"}),
                                   quiet(log));
    INFO(log.str());
    pt::LoadedMlm untrained = pt::load_run(dir + "/zero", {}, "cpu");
    CHECK(untrained.config["model"]["name"] == family.model_name);
    CHECK(untrained.config["init"] == "hf:" + dir + "/hf");
    const auto expected = formats::load_safetensors(kFixtures + "/" + family.fixture + "/expected.safetensors").tensors;
    const torch::Tensor ids = expected.at("input_ids").to(torch::kLong), mask = expected.at("attention_mask").to(torch::kLong);
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor logits = untrained.model->logits(ids, {}, mask, {});
      CHECK(max_diff(real_rows(logits, mask), real_rows(expected.at("logits"), mask)) < 1e-5);
    }
    // The [MASK] the blocks are corrupted with is the tokenizer's (RoBERTa's <mask>).
    CHECK(untrained.tokenizer->mask_id() == 4);
    CHECK(untrained.tokenizer->id_to_token(4) == (name == "roberta-mlm" ? "<mask>" : "[MASK]"));

    // A few steps lower the held-out loss well below the untrained model's.
    const json a = tasks::train(run_config(dir, "a", {}), quiet(log));
    CHECK(a["valid"]["loss"].get<double>() < zero["valid"]["loss"].get<double>() - 0.5);

    // Interrupted and resumed, the run ends where the uninterrupted one did.
    auto stopping = quiet(log);
    stopping.stop_requested = [](int64_t step) { return step == 7; };
    CHECK(tasks::train(run_config(dir, "b", {}), stopping)["interrupted"] == true);
    auto resume = quiet(log);
    resume.resume = true;
    const json resumed = tasks::train(io::read_json(dir + "/b/config.json"), resume);
    CHECK(resumed["steps"] == a["steps"]);
    const auto wa = last_checkpoint(dir + "/a"), wb = last_checkpoint(dir + "/b");
    REQUIRE(wa.names == wb.names);
    for (const auto& n : wa.names) {
      INFO(n);
      CHECK(torch::equal(wa.tensors.at(n), wb.tensors.at(n)));
    }
    CHECK(resumed["valid"]["loss"] == a["valid"]["loss"]);

    // --to-hf: the fixture's tensor names, the run's bytes, the fixture's class, a tokenizer.
    hf::export_hf(dir + "/a", dir + "/back", false, log);
    CHECK(names_of(dir + "/back/model.safetensors") == names_of(kFixtures + "/" + family.fixture + "/model.safetensors"));
    CHECK(io::read_json(dir + "/back/config.json")["architectures"] ==
          io::read_json(kFixtures + "/" + family.fixture + "/config.json")["architectures"]);
    CHECK((fs::exists(dir + "/back/vocab.txt") || fs::exists(dir + "/back/tokenizer.json")));
    {
      hf::BertBundle back = hf::load_bert_bundle("hf:" + dir + "/back", log);
      const auto run_weights = formats::load_safetensors(dir + "/a/model.safetensors");
      const formats::NamedTensors reloaded = formats::module_tensors(*back.module);
      REQUIRE(reloaded.size() == run_weights.names.size());
      for (const auto& [n, t] : reloaded) {
        INFO(n);
        REQUIRE(run_weights.tensors.count(n) == 1);
        CHECK(formats::safetensors_bytes({{n, t}}) == formats::safetensors_bytes({{n, run_weights.tensors.at(n)}}));
      }
    }

    // The fill-mask bundle: its logits are the run's, and predict prints what the run's does.
    const json exported = pt::export_run(dir + "/a", dir + "/bundle", false);
    CHECK(exported["check_max_abs_diff"].get<double>() < 1e-4);
    pt::LoadedMlm trained = pt::load_run(dir + "/a", {}, "cpu");
    {
      const bundle::Bundle b = bundle::load_bundle(dir + "/bundle", "mlm");
      torch::jit::Module module = b.module;
      torch::NoGradGuard no_grad;
      CHECK(max_diff(module.forward({ids, mask}).toTensor(), trained.model->logits(ids, {}, mask, {})) < 1e-5);
      const torch::Tensor positions = torch::tensor({int64_t{1}, ids.numel() - 2});
      CHECK(max_diff(module.get_method("logits_at")({ids, mask, positions}).toTensor(),
                     trained.model->logits(ids, {}, mask, positions)) < 1e-5);
    }
    const std::string own_mask = trained.tokenizer->id_to_token(trained.tokenizer->mask_id());
    const std::string lines = words[0] + " [MASK] " + words[2] + " " + words[3] + "\n" + words[1] + " " + own_mask +
                              " " + words[3] + " [MASK]\n";
    const std::string from_run = testing::through(
        [&](std::istream& in, std::ostream& out) { pt::predict_run(dir + "/a", in, "in.txt", out, "cpu", 8); }, lines);
    const std::string from_bundle = testing::through(
        [&](std::istream& in, std::ostream& out) { pt::predict_bundle(dir + "/bundle", in, "in.txt", out, "cpu"); }, lines);
    CHECK(from_bundle == from_run);
    std::istringstream rows(from_run);
    std::string row;
    std::getline(rows, row);
    CHECK(json::parse(row)["masks"].size() == 1);
    std::getline(rows, row);
    CHECK(json::parse(row)["masks"].size() == 2);  // the tokenizer's own mask token counts too
    // Trained on the first twelve words only, the model fills the masks with one of them.
    for (const auto& candidates : json::parse(row)["masks"]) {
      const std::string best = candidates[0]["token"].get<std::string>();
      CHECK(std::find(words.begin(), words.begin() + 12, best) != words.begin() + 12);
    }

    // A classifier starts from the run's encoder (lr 0: the saved encoder is the run's).
    testing::write_topics_csv(dir + "/cls_train.csv", 40, 1);
    testing::write_topics_csv(dir + "/cls_valid.csv", 12, 2);
    json cls = classification::default_config();
    config::apply_overrides(cls, {"run_dir=" + dir + "/cls", "device=cpu", "init=" + dir + "/a",
                                  "data.train=" + dir + "/cls_train.csv", "data.valid=" + dir + "/cls_valid.csv",
                                  "data.max_length=16", "train.epochs=1", "train.batch_size=16", "train.lr=0",
                                  "train.warmup_ratio=0", "head.pooling=cls"});
    tasks::train(cls, quiet(log));
    CHECK(io::read_json(dir + "/cls/config.json")["model"]["name"] == family.model_name);
    const auto mlm_weights = formats::load_safetensors(dir + "/a/model.safetensors");
    const auto cls_weights = formats::load_safetensors(dir + "/cls/model.safetensors");
    int carried = 0, encoder = 0;
    for (const auto& n : mlm_weights.names) {
      if (n.rfind(family.model_name + ".", 0) != 0) continue;
      ++encoder;
      INFO(n);
      REQUIRE(cls_weights.tensors.count(n) == 1);
      carried += torch::equal(cls_weights.tensors.at(n), mlm_weights.tensors.at(n));
    }
    CHECK(encoder > 10);
    CHECK(carried == encoder);
  }
}

TEST_CASE("mlm init refuses folders without a masked-LM head or a tokenizer, in one line", "[mlm][hf][errors]") {
  const std::string dir = testing::temp_dir("mlm-family-errors");
  const std::vector<std::string> words = copy_with_tokenizer("modern_arch/modernbert-mlm", dir + "/hf");
  write_corpus(dir + "/train.txt", words, 40, 1);
  write_corpus(dir + "/valid.txt", words, 10, 2);
  std::ostringstream log;
  const auto error = [&](const std::string& folder, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> overrides = {"init=hf:" + folder};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    const std::string e = testing::error_of([&] { tasks::train(run_config(dir, "run", overrides), quiet(log)); });
    CHECK(e.find('\n') == std::string::npos);
    return e;
  };
  for (const auto& [fixture, held] : std::vector<std::pair<std::string, std::string>>{
           {"hf_arch/roberta-seqcls", "RobertaForSequenceClassification"},
           {"hf_arch/electra-base", "ElectraModel"},
           {"modern_arch/modernbert-base", "ModernBertModel"},
           {"modern_arch/deberta-v3-seqcls", "DebertaV2ForSequenceClassification"}}) {
    CAPTURE(fixture);
    const std::string folder = dir + "/" + fs::path(fixture).filename().string();
    copy_with_tokenizer(fixture, folder);
    const std::string e = error(folder);
    CHECK_THAT(e, Catch::Matchers::StartsWith(folder + ": holds " + held));
    CHECK_THAT(e, testing::contains_text("no masked-LM head"));
  }
  // No tokenizer file at all: the folder is named.
  fs::create_directories(dir + "/bare");
  for (const char* file : {"config.json", "model.safetensors"}) fs::copy_file(dir + "/hf/" + file, dir + "/bare/" + file);
  CHECK_THAT(error(dir + "/bare"), Catch::Matchers::StartsWith(dir + "/bare"));
  CHECK_THAT(error(dir + "/missing"), testing::contains_text("does not exist"));
  // Blocks longer than the checkpoint's positions, and an init that is not a folder of transformers'.
  CHECK_THAT(error(dir + "/hf", {"mlm.max_length=65"}), Catch::Matchers::StartsWith("mlm.max_length: 65 exceeds"));
  const std::string not_hf = testing::error_of([&] { tasks::train(run_config(dir, "run", {"init=" + dir + "/hf"}), quiet(log)); });
  CHECK_THAT(not_hf, Catch::Matchers::StartsWith("init: "));
  CHECK_THAT(not_hf, testing::contains_text("hf:DIR"));
  CHECK_FALSE(fs::exists(dir + "/run/model.safetensors"));
}

TEST_CASE("a DeBERTa folder with only spm.model has [MASK] after the pieces, as DebertaV2Tokenizer",
          "[mlm][deberta][spm]") {
  const std::string fixture = kFixtures + "/deberta_spm";
  const text::HfFolderTokenizer folder = text::load_hf_folder_tokenizer(fixture);
  const text::Tokenizer& tok = *folder.tokenizer;
  // 400 pieces, none of them [MASK]: transformers adds it as id 400.
  CHECK(tok.vocab_size() == 401);
  CHECK(tok.mask_id() == 400);
  CHECK(tok.mask_id() != tok.unk_id());
  CHECK(tok.id_to_token(400) == "[MASK]");
  const pt::MaskedText masked = pt::encode_masked("Hello [MASK] world", tok, 64, "in");
  REQUIRE(masked.masks.size() == 1);
  CHECK(masked.ids[masked.masks[0]] == 400);
  const pt::TokenFlags flags = pt::token_flags(tok);
  CHECK(flags.mask_id == 400);
  CHECK(flags.special[400] == 1);
}

TEST_CASE("runs that read spm.model into attune's SentencePiece tokenizer keep [MASK] after the pieces",
          "[mlm][deberta][spm]") {
  // Before spm.model folders were read as transformers 5 reads them, runs kept sentencepiece's
  // own tokenizer with the mask recorded after the pieces; such runs still load.
  auto tok = text::SentencePieceTokenizer::load(kFixtures + "/deberta_spm/spm.model");
  tok->add_mask_after_pieces();
  CHECK(tok->vocab_size() == 401);
  CHECK(tok->mask_id() == 400);
  // Encoding never yields it: the ids of text are sentencepiece's.
  for (int64_t id : tok->encode_plain("Hello [MASK] world")) CHECK(id < 400);
  const std::string dir = testing::temp_dir("mlm-spm-mask");
  tok->save(dir + "/tokenizer");
  const auto again = text::load_tokenizer(dir + "/tokenizer");
  CHECK(again->vocab_size() == 401);
  CHECK(again->mask_id() == 400);
  CHECK(again->id_to_token(400) == "[MASK]");
  CHECK(again->encode("Hello world", nullptr, 64).ids == tok->encode("Hello world", nullptr, 64).ids);
  // Without the record (runs written before), the tokenizer is sentencepiece's alone.
  io::write_json_atomic(dir + "/tokenizer/tokenizer.json", {{"kind", "sentencepiece"}});
  CHECK(text::load_tokenizer(dir + "/tokenizer")->vocab_size() == 400);
}

}  // namespace attune::mlm_families_test
