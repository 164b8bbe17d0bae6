// The shared typed sections (run keys, train) against every registered task's defaults
// and against a saved run config: parsed once, written back unchanged.
#include "tests/catch.h"
#include "tests/common/errors.h"

#include "tasks/engine/settings.h"
#include "tasks/engine/train_config.h"
#include "tasks/registry.h"

using attune::testing::error_of;
using nlohmann::json;
namespace config = attune::config;
namespace engine = attune::engine;

namespace {

// `from` cut down to the keys that `other` also has: a task may drop shared keys it
// does not use (translation has no bucket_by_length), and may add its own.
json shared_keys(const json& from, const json& other) {
  json out = json::object();
  for (const auto& item : from.items())
    if (other.contains(item.key())) out[item.key()] = item.value();
  return out;
}

}  // namespace

TEST_CASE("every task's train section round-trips through TrainConfig", "[config]") {
  CHECK(engine::default_train_section() == config::to_json(engine::TrainConfig{}));
  for (const auto* task : attune::tasks::all_tasks()) {
    INFO(task->name());
    const json defaults = task->default_config();
    const json& train = defaults.at("train");
    const auto parsed = config::parse<engine::TrainConfig>(train, "train", config::UnknownKeys::kIgnore);
    const json written = config::to_json(parsed);
    CHECK(shared_keys(written, train) == shared_keys(train, written));
    const auto run = config::parse<engine::RunKeys>(defaults, "", config::UnknownKeys::kIgnore);
    const json run_keys = config::to_json(run);
    CHECK(shared_keys(run_keys, defaults) == shared_keys(defaults, run_keys));
  }
}

TEST_CASE("a config saved before newer train keys existed still parses, with their defaults", "[config]") {
  json old = attune::tasks::find_task("text-classification", "task").default_config();
  for (const char* key : {"warmup_steps", "schedule", "cuda_graphs", "zero"}) old["train"].erase(key);
  const engine::TrainOptions o = engine::train_options_from_config(old);
  CHECK(o.warmup_steps == 0);
  CHECK(o.schedule == engine::Schedule::kLinear);
  CHECK(o.cuda_graphs);  // on by default
  CHECK(o.zero == 0);
  old["train"]["zero"] = 1;
  CHECK(engine::train_options_from_config(old).zero == 1);
  old["train"]["zero"] = 2;
  CHECK(error_of([&] { engine::train_options_from_config(old); }) == "train.zero: value 2 out of range [0, 1]");
  old["train"].erase("zero");
  old["train"]["epochs"] = 0;
  CHECK(error_of([&] { engine::train_options_from_config(old); }) == "train.epochs: value 0 out of range [1, 100000]");
  old["train"]["epochs"] = 1;
  old["train"]["schedule"] = "cosin";
  CHECK(error_of([&] { engine::train_options_from_config(old); }) ==
        "train.schedule: unknown schedule 'cosin' (known: linear, inverse_sqrt, constant, cosine)");
}
