#include "tests/catch.h"
#include "tasks/registry.h"

#include "data/batching.h"
#include "core/error.h"
#include "data/readers/parallel.h"
#include "models/seq2seq/transformer.h"
#include "core/config.h"
#include "tasks/engine/optimizer.h"
#include "tasks/translation/decoding.h"
#include "tasks/translation/task.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
namespace tr = attune::translation;
using attune::testing::error_of;
using nlohmann::json;

namespace {

attune::models::Seq2SeqTransformer tiny_model(uint64_t seed) {
  torch::manual_seed(seed);
  attune::models::Seq2SeqTransformer m(attune::models::Seq2SeqOptions(30)
                                           .d_model(32).encoder_layers(2).decoder_layers(2).num_heads(4)
                                           .ffn_dim(64).max_positions(64).init("xavier"));
  m->eval();
  return m;
}

// Sources of different lengths, right-padded with 0; EOS is 2, BOS 1.
torch::Tensor sources() {
  torch::manual_seed(11);
  torch::Tensor src = torch::randint(3, 30, {5, 9}, torch::kLong);
  const int64_t lengths[] = {9, 4, 7, 2, 6};
  for (int64_t r = 0; r < 5; ++r) {
    src[r][lengths[r] - 1] = 2;
    src[r].slice(0, lengths[r]).fill_(0);
  }
  return src;
}

tr::DecodeOptions decode(int64_t beam, bool cache) {
  tr::DecodeOptions o;
  o.beam_size = beam;
  o.use_cache = cache;
  o.bos_id = 1;
  o.eos_id = 2;
  o.pad_id = 0;
  o.max_length_ratio = 1.0;
  o.max_length_extra = 6;
  return o;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  for (const auto& l : lines) out << l << "\n";
}

json tiny_config(const std::string& dir) {
  json c = tr::default_config();
  attune::config::apply_overrides(
      c, {"run_dir=" + dir + "/run", "device=cpu", "threads=1", "data.train=" + dir + "/train.tsv",
          "data.valid=" + dir + "/valid.tsv", "data.test=" + dir + "/test.tsv", "tokenizer.vocab_size=100",
          "model.preset=transformer-tiny", "model.max_positions=64", "model.dropout=0.0",
          "data.max_source_tokens=40", "data.max_target_tokens=40", "train.epochs=12", "train.max_tokens=600",
          "train.lr=3e-3", "train.warmup_steps=30", "train.log_every=20", "train.checkpoint_every=50",
          "train.eval_max_sentences=100", "decode.beam_size=3"});
  return c;
}

}  // namespace

TEST_CASE("greedy and beam search decode the same tokens with and without the cache", "[translation][decoding]") {
  auto model = tiny_model(1);
  const torch::Tensor src = sources();
  for (int64_t beam : {1, 3}) {
    INFO("beam " << beam);
    const auto cached = tr::generate(model, src, decode(beam, true));
    const auto uncached = tr::generate(model, src, decode(beam, false));
    CHECK(cached == uncached);
    size_t produced = 0;
    for (const auto& row : cached) produced += row.size();
    CHECK(produced > 0);
  }
}

TEST_CASE("beam search with beam 1 is greedy search", "[translation][decoding]") {
  for (uint64_t seed : {2, 3, 4}) {
    auto model = tiny_model(seed);
    INFO("seed " << seed);
    CHECK(tr::beam_search(model, sources(), decode(1, true)) == tr::greedy_search(model, sources(), decode(1, true)));
  }
}

TEST_CASE("beam search translates a sentence the same alone or in a padded batch", "[translation][decoding]") {
  auto model = tiny_model(5);
  const torch::Tensor src = sources();
  const auto together = tr::beam_search(model, src, decode(4, true));
  const int64_t lengths[] = {9, 4, 7, 2, 6};
  for (int64_t r = 0; r < src.size(0); ++r) {
    INFO("row " << r);
    const auto alone = tr::beam_search(model, src.slice(0, r, r + 1).slice(1, 0, lengths[r]), decode(4, true));
    CHECK(alone[0] == together[r]);
  }
}

TEST_CASE("decoding stops at the length limit of each source", "[translation][decoding]") {
  auto model = tiny_model(6);
  tr::DecodeOptions o = decode(1, true);
  o.eos_id = 29;  // a token the random model rarely picks, so most rows hit the limit
  o.max_length_ratio = 0.5;
  o.max_length_extra = 1;
  const int64_t lengths[] = {9, 4, 7, 2, 6};
  for (int64_t beam : {1, 2}) {
    o.beam_size = beam;
    const auto out = tr::generate(model, sources(), o);
    for (size_t r = 0; r < out.size(); ++r) {
      INFO("beam " << beam << " row " << r);
      CHECK(static_cast<int64_t>(out[r].size()) <= static_cast<int64_t>(std::ceil(0.5 * lengths[r])) + 1);
    }
  }
}

TEST_CASE("token batches stay within max_tokens, cover every pair once and are reproducible", "[translation][batching]") {
  std::vector<int64_t> src, tgt;
  for (int i = 0; i < 500; ++i) {
    src.push_back(1 + (i * 37) % 60);
    tgt.push_back(1 + (i * 53) % 70);
  }
  const auto batches = attune::data::make_token_batches(src, tgt, 400, true, 9);
  std::multiset<int64_t> seen;
  for (const auto& b : batches) {
    int64_t longest = 0;
    for (int64_t i : b) {
      seen.insert(i);
      longest = std::max({longest, src[i], tgt[i]});
    }
    CHECK(static_cast<int64_t>(b.size()) * longest <= 400);
  }
  CHECK(seen.size() == 500);
  CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 500);
  CHECK(batches == attune::data::make_token_batches(src, tgt, 400, true, 9));
  CHECK(batches != attune::data::make_token_batches(src, tgt, 400, true, 10));
  // One pair longer than the budget is a batch of its own.
  const auto single = attune::data::make_token_batches({500, 3, 4}, {2, 3, 4}, 100, false, 0);
  CHECK(single.size() == 2);
  CHECK(single.back() == std::vector<int64_t>{0});
}

TEST_CASE("the inverse square root schedule warms up linearly and decays as 1/sqrt(step)", "[translation][schedule]") {
  using attune::engine::Schedule;
  using attune::engine::schedule_factor;
  CHECK(schedule_factor(Schedule::kInverseSqrt, 0, 100, 10000) == Approx(0.01));
  CHECK(schedule_factor(Schedule::kInverseSqrt, 49, 100, 10000) == Approx(0.5));
  CHECK(schedule_factor(Schedule::kInverseSqrt, 99, 100, 10000) == Approx(1.0));
  CHECK(schedule_factor(Schedule::kInverseSqrt, 399, 100, 10000) == Approx(0.5));
  CHECK(schedule_factor(Schedule::kConstant, 5000, 100, 10000) == Approx(1.0));
  CHECK(schedule_factor(Schedule::kLinear, 100, 100, 1100) == Approx(1.0));
  CHECK(schedule_factor(Schedule::kCosine, 50, 100, 1100) == Approx(0.5));   // warming up
  CHECK(schedule_factor(Schedule::kCosine, 600, 100, 1100) == Approx(0.5));  // half-way down the cosine
  CHECK(schedule_factor(Schedule::kCosine, 1100, 100, 1100) == Approx(0.0).margin(1e-12));
  CHECK(error_of([] { attune::engine::parse_schedule("cosin", "train.schedule"); }) ==
        "train.schedule: unknown schedule 'cosin' (known: linear, inverse_sqrt, constant, cosine)");
}

TEST_CASE("parallel readers: TSV, JSONL and aligned files, with clear errors", "[translation][data]") {
  const std::string dir = attune::testing::temp_dir("parallel");
  write_lines(dir + "/ok.tsv", {"hello world\thallo welt", "good night\tgute nacht"});
  const auto tsv = attune::data::read_parallel_tsv(dir + "/ok.tsv");
  CHECK(tsv.size() == 2);
  CHECK(tsv.target[1] == "gute nacht");
  CHECK(tsv.origin[1] == dir + "/ok.tsv:2");
  write_lines(dir + "/ok.jsonl", {R"({"src": "yes", "tgt": "ja"})", "", R"({"src": "no", "tgt": "nein", "id": 3})"});
  const auto jsonl = attune::data::read_parallel_jsonl(dir + "/ok.jsonl");
  CHECK(jsonl.source == std::vector<std::string>{"yes", "no"});
  write_lines(dir + "/a.en", {"one", "two"});
  write_lines(dir + "/a.de", {"eins", "zwei"});
  CHECK(attune::data::read_parallel_files(dir + "/a.en", dir + "/a.de").target[1] == "zwei");

  write_lines(dir + "/short.de", {"eins"});
  CHECK(error_of([&] { attune::data::read_parallel_files(dir + "/a.en", dir + "/short.de"); }) ==
        dir + "/a.en: has 2 lines but " + dir + "/short.de has 1: the files must be line-aligned");
  write_lines(dir + "/gap.de", {"eins", " "});
  CHECK(error_of([&] { attune::data::read_parallel_files(dir + "/a.en", dir + "/gap.de"); }) ==
        dir + "/gap.de:2: empty target sentence");
  write_lines(dir + "/notab.tsv", {"a\tb", "just one side"});
  CHECK(error_of([&] { attune::data::read_parallel_tsv(dir + "/notab.tsv"); }) ==
        dir + "/notab.tsv:2: expected source<TAB>target, found no tab");
  write_lines(dir + "/empty.tsv", {"a\tb", "\tleer"});
  CHECK(error_of([&] { attune::data::read_parallel_tsv(dir + "/empty.tsv"); }) == dir + "/empty.tsv:2: empty source sentence");
  write_lines(dir + "/bad.jsonl", {R"({"src": "a", "target": "b"})"});
  CHECK(error_of([&] { attune::data::read_parallel_jsonl(dir + "/bad.jsonl"); }) == dir + "/bad.jsonl:1: missing key \"tgt\"");
  CHECK(error_of([&] { attune::data::read_parallel_tsv(dir + "/missing.tsv"); }) == dir + "/missing.tsv: file does not exist");
}

TEST_CASE("a tiny transformer learns a word-for-word translation, then translates and scores", "[translation][train]") {
  const std::string dir = attune::testing::temp_dir("translation-train");
  attune::testing::write_number_pairs(dir + "/train.tsv", 3000, 1);
  attune::testing::write_number_pairs(dir + "/valid.tsv", 100, 2);
  attune::testing::write_number_pairs(dir + "/test.tsv", 100, 3);
  std::ostringstream log;
  attune::engine::TrainFlags flags;
  flags.log = &log;
  const json summary = attune::tasks::train(tiny_config(dir), flags);
  INFO(log.str());
  CHECK_FALSE(summary["interrupted"].get<bool>());
  CHECK(summary["train_pairs"] == 3000);
  CHECK(summary["valid"]["bleu"].get<double>() > 80.0);
  CHECK(summary["test"]["bleu"].get<double>() > 80.0);
  CHECK(summary["test"]["beam_size"] == 3);

  std::istringstream in("three one four\n\nnine nine two\n");
  std::ostringstream out;
  tr::translate_run(dir + "/run", in, out, "cpu", {"decode.beam_size=2"});
  // Line for line, the empty one kept; a tiny model trained by another LibTorch's CPU
  // kernels (PyTorch 2.x on the GPU machine) may miss one word of the six.
  std::vector<std::string> lines;
  std::istringstream got(out.str());
  for (std::string line; std::getline(got, line);) lines.push_back(line);
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].empty());
  int correct = 0;
  const std::vector<std::string> expected = {"drei", "eins", "vier", "neun", "neun", "zwei"};
  std::istringstream words(lines[0] + " " + lines[2]);
  std::string word;
  for (size_t i = 0; words >> word; ++i) correct += i < expected.size() && word == expected[i];
  INFO(out.str());
  CHECK(correct >= 5);

  const json eval = tr::evaluate_run(dir + "/run", dir + "/test.tsv", {"decode.output=" + dir + "/hyp.txt"}, "cpu");
  CHECK(eval["bleu"].get<double>() == Approx(summary["test"]["bleu"].get<double>()));
  CHECK(eval["sentences"] == 100);
  CHECK(fs::exists(dir + "/hyp.txt"));

  // Bad inputs name what is wrong.
  json c = tiny_config(dir);
  c["run_dir"] = dir + "/bad";
  c["tokenizer"]["model"] = dir + "/no-such.model";
  CHECK(error_of([&] { attune::tasks::train(c, flags); }) == dir + "/no-such.model: cannot open file");
  c = tiny_config(dir);
  c["run_dir"] = dir + "/bad";
  c["tokenizer"]["type"] = "wordpiece";
  CHECK(error_of([&] { attune::tasks::train(c, flags); }) ==
        "tokenizer.type: translation needs a sentencepiece tokenizer (it detokenizes its output)");
  c = tiny_config(dir);
  c["run_dir"] = dir + "/bad";
  c["data"]["max_source_tokens"] = 100;
  CHECK(error_of([&] { attune::tasks::train(c, flags); }).rfind("data.max_source_tokens: ", 0) == 0);
}
