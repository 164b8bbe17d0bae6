// tasks/api.h, the embedders' facade: a run trained, evaluated, used and exported
// through it, and its bad inputs as one-line UserErrors.
#include "tests/catch.h"

#include "tasks/api.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <filesystem>
#include <fstream>
#include <sstream>

using attune::testing::error_of;
using nlohmann::json;

namespace {

void write_topics(const std::string& path, int rows) {
  std::ofstream out(path);
  out << "text,label\n";
  for (int i = 0; i < rows; ++i) {
    if (i % 2 == 0) out << "we liked the bread and cheese soup " << i << ",food\n";
    else out << "the team scored a goal in the match " << i << ",sport\n";
  }
}

}  // namespace

TEST_CASE("the C++ API trains a LoRA run, evaluates, predicts and exports it", "[api]") {
  const std::string dir = attune::testing::temp_dir("api");
  write_topics(dir + "/train.csv", 60);
  write_topics(dir + "/test.csv", 20);
  const json config = attune::api::make_config(
      {{"task", "text-classification"}},
      {"run_dir=" + dir + "/run", "data.train=" + dir + "/train.csv", "device=cpu", "threads=1", "data.max_length=16",
       "tokenizer.vocab_size=100", "model.hidden_size=16", "model.num_layers=1", "model.num_heads=2",
       "model.intermediate_size=32", "train.epochs=3", "train.lr=1e-2", "train.batch_size=16", "peft.method=lora",
       "peft.r=2"});
  CHECK(config["peft"]["method"] == "lora");
  std::ostringstream log;
  attune::api::TrainOptions options;
  options.log = &log;
  const json summary = attune::api::train(config, options);
  CHECK(summary["steps"].get<int64_t>() > 0);
  CHECK(!log.str().empty());  // progress went to the given stream
  CHECK(std::filesystem::exists(dir + "/run/adapter_model.safetensors"));

  const attune::api::TrainedRun run(dir + "/run");
  CHECK(run.task() == "text-classification");
  CHECK(run.config()["peft"]["r"] == 2);
  const json metrics = run.evaluate(dir + "/test.csv");
  CHECK(metrics["examples"] == 20);
  const std::vector<json> rows = run.predict({"cheese bread soup", "team goal match", "{\"text\": \"soup\"}"});
  REQUIRE(rows.size() == 3);
  for (const json& row : rows) CHECK(row["probabilities"].size() == 2);
  run.export_bundle(dir + "/bundle");
  const std::vector<json> from_bundle = attune::api::predict_bundle(dir + "/bundle", {"cheese bread soup", "team goal match"});
  REQUIRE(from_bundle.size() == 2);
  CHECK(from_bundle[0]["label"] == rows[0]["label"]);
  CHECK(from_bundle[1]["label"] == rows[1]["label"]);

  CHECK(error_of([&] { run.predict({"one", "two\nlines"}); }) ==
        "inputs[1]: one line per input: replace the line break with a space");
  CHECK(error_of([&] { run.predict({"one"}, 0); }) == "batch_size: must be at least 1, got 0");
  CHECK(error_of([&] { run.evaluate(); }) == "evaluate: the text-classification task needs a labelled data file");
  CHECK(error_of([&] { run.export_bundle(dir + "/bundle"); }).rfind(dir + "/bundle", 0) == 0);  // exists, no overwrite
}

TEST_CASE("the C++ API's bad inputs are one-line UserErrors naming what is wrong", "[api]") {
  const std::string dir = attune::testing::temp_dir("api-errors");
  CHECK(error_of([] { attune::api::make_config({}, {"train.epoch=2"}); }) ==
        "--set train.epoch: unknown config key 'train.epoch' (did you mean 'train.epochs'?)");
  CHECK(error_of([] { attune::api::make_config(json::array()); }) == "config: expected a JSON object, got array");
  CHECK(error_of([] { attune::api::make_config({{"task", "nope"}}); }).rfind("config: task: unknown task 'nope'", 0) == 0);
  CHECK(error_of([&] { attune::api::TrainedRun(dir + "/none"); }).rfind(dir + "/none", 0) == 0);
  CHECK(error_of([&] { attune::api::resume(dir + "/none"); }).rfind(dir + "/none", 0) == 0);
  CHECK(error_of([&] { attune::api::predict_bundle(dir + "/none", {"x"}); }) == dir + "/none: bundle directory does not exist");
  CHECK(!attune::api::version().empty());
}
