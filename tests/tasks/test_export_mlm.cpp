// Fill-mask bundles of masked-LM runs: the scripted encoder and head against the run's
// model at shapes the export never saw, predict from the bundle against predict from the
// run, and the server's predictor with its input checks.
#include "tests/catch.h"

#include "core/config.h"
#include "tasks/bundle/bundle.h"
#include "tasks/pretraining/export.h"
#include "tasks/pretraining/task.h"
#include "tasks/registry.h"
#include "tests/common/errors.h"
#include "tests/common/streams.h"
#include "tests/common/synthetic.h"

#include <torch/script.h>

#include <sstream>

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers to itself.
namespace attune::export_mlm_test {

using nlohmann::json;
using attune::testing::through;
namespace pt = attune::pretraining;

namespace {

// A tiny masked-LM run, trained for a few steps on the animal sentences.
std::string tiny_mlm_run(const std::string& dir) {
  attune::testing::write_sentences(dir + "/train.txt", 200, 1);
  json c = pt::default_config();
  attune::config::apply_overrides(
      c, {"run_dir=" + dir + "/run", "device=cpu", "threads=1", "data.train=" + dir + "/train.txt",
          "data.valid_fraction=0.1", "tokenizer.vocab_size=120", "model.preset=null", "model.hidden_size=32",
          "model.num_layers=2", "model.num_heads=2", "model.intermediate_size=64", "mlm.max_length=24",
          "train.max_steps=12", "train.batch_size=8", "train.lr=3e-3", "train.log_every=100", "train.eval_every=12"});
  std::ostringstream log;
  attune::engine::TrainFlags flags;
  flags.log = &log;
  attune::tasks::train(c, flags);
  return dir + "/run";
}

}  // namespace

TEST_CASE("a masked-LM bundle fills masks as its run does, at any batch size and length", "[export][mlm]") {
  const std::string dir = attune::testing::temp_dir("export-mlm");
  const std::string run = tiny_mlm_run(dir);
  const json summary = pt::export_run(run, dir + "/bundle", false);
  CHECK(summary["task"] == "mlm");
  CHECK(summary["check_max_abs_diff"].get<double>() < 1e-4);
  const attune::bundle::Bundle b = attune::bundle::load_bundle(dir + "/bundle", "mlm");
  CHECK(b.manifest["max_length"] == 24);
  CHECK(b.manifest["mask_token"] == "[MASK]");
  CHECK(b.manifest["model"]["methods"] == json({"forward", "logits_at"}));

  // Both methods against the run's model on padded batches of shapes the export never saw.
  pt::LoadedMlm loaded = pt::load_run(run, {}, "cpu");
  torch::jit::Module module = b.module;
  torch::NoGradGuard no_grad;
  const int64_t vocab = loaded.tokenizer->vocab_size();
  for (const auto& [rows, length] : std::vector<std::pair<int64_t, int64_t>>{{1, 5}, {3, 11}, {4, 24}}) {
    CAPTURE(rows, length);
    const torch::Tensor ids = torch::randint(5, vocab, {rows, length}, torch::kLong);
    torch::Tensor mask = torch::ones({rows, length}, torch::kLong);
    for (int64_t r = 1; r < rows; ++r) mask[r].narrow(0, length - r, r).zero_();
    const torch::Tensor expected = loaded.model->logits(ids, {}, mask, {});
    const torch::Tensor got = module.forward({ids, mask}).toTensor();
    REQUIRE(got.sizes() == expected.sizes());
    CHECK((got - expected).abs().max().item<double>() < 1e-5);
    const torch::Tensor positions = torch::tensor({int64_t{0}, rows * length - 1, length / 2});
    const torch::Tensor some = module.get_method("logits_at")({ids, mask, positions}).toTensor();
    CHECK((some - loaded.model->logits(ids, {}, mask, positions)).abs().max().item<double>() < 1e-5);
    CHECK((some - expected.flatten(0, 1).index_select(0, positions)).abs().max().item<double>() < 1e-4);
  }

  // predict from the bundle prints what predict from the run prints, byte for byte.
  const std::string lines =
      "the [MASK] purrs in the kitchen.\n"
      "the big dog [MASK] in the [MASK].\n"
      "no mask here\n"
      "[MASK]\n"
      "the unbelievably sleepy hamster [MASK] in the cage. the [MASK] gallops\r\n";
  const std::string from_run = through(
      [&](std::istream& in, std::ostream& out) { pt::predict_run(run, in, "in.txt", out, "cpu", 8); }, lines);
  const std::string from_bundle = through(
      [&](std::istream& in, std::ostream& out) { pt::predict_bundle(dir + "/bundle", in, "in.txt", out, "cpu"); }, lines);
  CHECK(from_bundle == from_run);
  std::istringstream rows(from_run);
  std::string row;
  std::vector<json> parsed;
  while (std::getline(rows, row)) parsed.push_back(json::parse(row));
  REQUIRE(parsed.size() == 5);
  CHECK(parsed[1]["masks"].size() == 2);
  CHECK(parsed[1]["masks"][0].size() == 5);
  CHECK(parsed[2]["masks"].empty());

  const std::string too_long = "the cat purrs in the kitchen. the dog barks in the garden. the horse neighs in the stable.\n";
  const std::string expected_error = attune::testing::error_of([&] {
    through([&](std::istream& in, std::ostream& out) { pt::predict_run(run, in, "in.txt", out, "cpu", 8); }, too_long);
  });
  CHECK(expected_error.rfind("in.txt:1: ", 0) == 0);
  CHECK(expected_error.find("tokens exceed mlm.max_length 24") != std::string::npos);
  CHECK(attune::testing::error_of([&] {
          through([&](std::istream& in, std::ostream& out) { pt::predict_bundle(dir + "/bundle", in, "in.txt", out, "cpu"); },
                    too_long);
        }) == expected_error);

  // The server's predictor: predict's rows with each candidate's id; bad inputs refused by name.
  const attune::serving::Predictor p = pt::bundle_predictor(dir + "/bundle", "cpu");
  CHECK(p.task == "mlm");
  const std::vector<json> served = p.run({"the [MASK] purrs in the kitchen.", "the big dog [MASK] in the [MASK]."});
  REQUIRE(served.size() == 2);
  for (size_t i = 0; i < served.size(); ++i) {
    json without_ids = served[i];
    for (auto& candidates : without_ids["masks"])
      for (auto& c : candidates) {
        CHECK(loaded.tokenizer->id_to_token(c["id"].get<int64_t>()) == c["token"].get<std::string>());
        c.erase("id");
      }
    CHECK(without_ids == parsed[i]);
  }
  using attune::testing::error_of;
  CHECK(error_of([&] { p.check(json(7), "inputs[0]"); }) == "inputs[0]: expected a text with [MASK] (a string), got number");
  CHECK(error_of([&] { p.check(json("no mask here"), "inputs[1]"); }) ==
        "inputs[1]: no [MASK] in the text: nothing to fill in");
  CHECK(error_of([&] { p.check(json(too_long.substr(0, too_long.size() - 1) + " [MASK]"), "inputs[2]"); })
            .rfind("inputs[2]: ", 0) == 0);

  // Through the registry, as the CLI calls it; int8 and adapter bases are refused.
  const attune::tasks::Task& task = attune::tasks::task_of_bundle(dir + "/bundle");
  CHECK(task.name() == "mlm");
  CHECK(error_of([&] { task.export_bundle(run, dir + "/int8", false, attune::bundle::Precision::kInt8Dynamic, false); }).rfind("--int8: ", 0) == 0);
}

}  // namespace attune::export_mlm_test
