// Recommendation bundles (sasrec, bert4rec): the scripted model against the run's at
// history lengths the export never saw, predict from the bundle against recommend from
// the run (with "exclude" and "k"), the same errors from both, and the server's predictor.
#include "tests/catch.h"

#include "core/config.h"
#include "tasks/bundle/bundle.h"
#include "tasks/recommendation/export.h"
#include "tasks/recommendation/model.h"
#include "tasks/recommendation/task.h"
#include "tasks/registry.h"
#include "tests/common/errors.h"
#include "tests/common/streams.h"
#include "tests/common/synthetic.h"

#include <torch/script.h>

#include <limits>
#include <sstream>

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers to itself.
namespace attune::export_recommendation_test {

using nlohmann::json;
using attune::testing::through;
using attune::testing::error_of;
namespace rec = attune::recommendation;

namespace {

std::string train_walk_run(const std::string& dir, const std::string& model) {
  json config = rec::default_config();
  attune::config::apply_overrides(
      config, {"data.interactions=" + dir + "/walks.csv", "data.time_column=t", "data.k_core=1", "data.max_history=6",
               "model.name=" + model, "model.hidden_size=32", "model.num_layers=2", "model.num_heads=2",
               "model.intermediate_size=64", "model.dropout=0.0", "objective.loss=softmax", "train.epochs=3",
               "train.batch_size=16", "train.lr=5e-3", "train.log_every=1000", "device=cpu", "threads=1",
               "run_dir=" + dir + "/" + model});
  std::ostringstream log;
  attune::engine::TrainFlags flags;
  flags.log = &log;
  attune::tasks::train(config, flags);
  return dir + "/" + model;
}

}  // namespace

TEST_CASE("recommendation bundles rank items as their runs do", "[export][recommendation]") {
  const std::string dir = attune::testing::temp_dir("export-rec");
  attune::testing::write_walks(dir, 40, 21);
  for (const std::string model : {"sasrec", "bert4rec"}) {
    CAPTURE(model);
    const std::string run = train_walk_run(dir, model);
    const std::string bundle = dir + "/" + model + "-bundle";
    const json summary = rec::export_run(run, bundle, false);
    CHECK(summary["check_max_abs_diff"].get<double>() < 1e-4);
    const attune::bundle::Bundle b = attune::bundle::load_bundle(bundle, "recommendation");
    CHECK(b.manifest["max_history"] == 6);
    CHECK(b.manifest["num_items"] == 20);
    CHECK(b.manifest["model"]["kind"] == model);

    // The module against the run's model: histories padded to any length up to
    // max_history give the run's scores at its fixed length.
    rec::LoadedRun loaded = rec::load_run(run, {}, "cpu");
    torch::jit::Module module = b.module;
    torch::NoGradGuard no_grad;
    std::vector<rec::EvalCase> cases;
    for (int64_t u = 0; u < 5; ++u) cases.push_back({u, 0, rec::last_n(loaded.data.sequences[u], 1 + u), {}});
    std::vector<const rec::EvalCase*> batch;
    std::vector<const std::vector<int64_t>*> histories;
    for (const auto& c : cases) {
      batch.push_back(&c);
      histories.push_back(&c.history);
    }
    const torch::Tensor expected = loaded.model.scorer()(batch);
    REQUIRE(expected.size(1) == 22);
    for (const int64_t length : {5, 6}) {
      CAPTURE(length);
      const torch::Tensor got = module.forward({rec::history_batch(histories, length, false, 0)}).toTensor();
      REQUIRE(got.sizes() == expected.sizes());
      CHECK((got - expected).abs().max().item<double>() < 1e-4);
      const float lowest = std::numeric_limits<float>::lowest();
      CHECK(got.select(1, 0).eq(lowest).all().item<bool>());
      CHECK(got.select(1, 21).eq(lowest).all().item<bool>());
    }
    CHECK_THROWS(module.forward({torch::ones({2, 7}, torch::kLong)}));  // longer than the model reads

    // predict from the bundle prints what recommend from the run prints, byte for byte.
    const std::string requests =
        "{\"history\": [\"m3\", \"m4\", \"m5\"]}\n"
        "\n"
        "{\"history\": [\"m1\", \"m2\", \"m3\", \"m4\", \"m5\", \"m6\", \"m7\", \"m8\", \"m9\"], \"k\": 4}\n"
        "{\"history\": [\"m3\"], \"exclude\": [], \"k\": 20}\n"
        "{\"history\": [\"m3\"], \"exclude\": [\"m4\", \"m5\", \"no-such-item\"], \"k\": 2}\n"
        "{\"history\": [\"m19\", \"m0\"], \"k\": 100}\n";
    auto from_run = [&](const std::string& lines) {
      return through([&](std::istream& in, std::ostream& out) { rec::recommend_run(run, in, "req.jsonl", out, "cpu", 3, 10); },
                         lines);
    };
    auto from_bundle = [&](const std::string& lines) {
      return through(
          [&](std::istream& in, std::ostream& out) { rec::predict_bundle(bundle, in, "req.jsonl", out, "cpu", 3, 10); }, lines);
    };
    const std::string want = from_run(requests);
    CHECK(from_bundle(requests) == want);
    std::vector<json> rows;
    std::istringstream lines(want);
    for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
    REQUIRE(rows.size() == 5);
    CHECK(rows[0]["items"].size() == 10);
    CHECK(rows[1]["items"].size() == 4);
    CHECK(rows[2]["items"].size() == 20);  // nothing excluded: the history's own item too
    // The same history with m4 and m5 left out instead of m3: the best two of the rest.
    std::vector<json> kept;
    for (const auto& item : rows[2]["items"])
      if (item["item"] != "m4" && item["item"] != "m5" && kept.size() < 2) kept.push_back(item["item"]);
    REQUIRE(rows[3]["items"].size() == 2);
    CHECK(rows[3]["items"][0]["item"] == kept[0]);
    CHECK(rows[3]["items"][1]["item"] == kept[1]);
    CHECK(rows[4]["items"].size() == 18);

    for (const std::string bad : {"{\"history\": [\"m1\", \"nope\"]}\n", "{\"history\": []}\n", "[1]\n",
                                  "{\"history\": [\"m1\"], \"k\": 0}\n", "{\"history\": [\"m1\"], \"exclude\": \"m2\"}\n"}) {
      CAPTURE(bad);
      const std::string message = error_of([&] { from_run(bad); });
      CHECK(message.rfind("req.jsonl:1: ", 0) == 0);
      if (bad != "[1]\n") CHECK(error_of([&] { from_bundle(bad); }) == message);
    }
    CHECK(error_of([&] { from_run("{\"history\": [\"m1\", \"nope\"]}\n"); }) ==
          "req.jsonl:1: unknown item 'nope' in \"history\" (not in the run's catalogue)");
    CHECK(error_of([&] { from_bundle("{\"user\": \"u1\"}\n"); }) ==
          "req.jsonl:1: \"user\": a bundle holds no user histories (give \"history\")");
    CHECK(error_of([&] { from_bundle("[1]\n"); }) == "req.jsonl:1: expected an object with \"history\"");

    // The server's predictor: predict's rows for the same batch (rows of one batch are
    // computed together, so another batching may round differently); bad requests are
    // refused by their input's name.
    const attune::serving::Predictor p = rec::bundle_predictor(bundle, "cpu", 3);
    const std::vector<json> two = {json::parse("{\"history\": [\"m3\", \"m4\", \"m5\"]}"),
                                   json::parse("{\"history\": [\"m3\"], \"exclude\": [], \"k\": 20}")};
    const std::vector<json> served = p.run(two);
    REQUIRE(served.size() == 2);
    CHECK(served[0].dump() + "\n" + served[1].dump() + "\n" == from_bundle(two[0].dump() + "\n" + two[1].dump() + "\n"));
    CHECK(served[1]["items"].size() == 20);
    CHECK(error_of([&] { p.check(json::parse("{\"history\": [\"m1\", 7]}"), "inputs[1]"); }) ==
          "inputs[1]: unknown item '7' in \"history\" (not in the run's catalogue)");
    CHECK(error_of([&] { p.check(json::parse("{\"history\": [\"m1\"], \"k\": \"ten\"}"), "inputs[0]"); }) ==
          "inputs[0]: \"k\" must be an integer >= 1");
  }

  // Baselines have no module to script; int8 is for text tasks.
  const json popular = rec::default_config();
  json config = popular;
  attune::config::apply_overrides(config, {"data.interactions=" + dir + "/walks.csv", "data.time_column=t",
                                           "data.k_core=1", "model.name=popular", "device=cpu",
                                           "run_dir=" + dir + "/popular"});
  std::ostringstream log;
  attune::engine::TrainFlags flags;
  flags.log = &log;
  attune::tasks::train(config, flags);
  CHECK(error_of([&] { rec::export_run(dir + "/popular", dir + "/popular-bundle", false); })
            .find("export: a 'popular' model cannot be exported to a bundle yet (sasrec and bert4rec can)") !=
        std::string::npos);
  const attune::tasks::Task& task = attune::tasks::task_of_run(dir + "/sasrec");
  CHECK(error_of([&] { task.export_bundle(dir + "/sasrec", dir + "/int8", false, attune::bundle::Precision::kInt8Dynamic, false); }).rfind("--int8: ", 0) == 0);
}

}  // namespace attune::export_recommendation_test
