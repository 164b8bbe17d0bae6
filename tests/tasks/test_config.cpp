#include "tests/catch.h"
#include "tests/common/errors.h"

#include "core/error.h"
#include "tasks/classification/task.h"
#include "core/config.h"

using attune::UserError;
using nlohmann::json;
using attune::testing::error_of;

namespace config = attune::config;

TEST_CASE("config merge keeps defaults and applies user values", "[config]") {
  const json defaults = {{"a", 1}, {"b", {{"c", 0.5}, {"d", "x"}}}, {"e", nullptr}};
  const json merged = config::merge(defaults, {{"b", {{"c", 2}}}, {"e", "path"}}, "run.json");
  CHECK(merged["a"] == 1);
  CHECK(merged["b"]["c"] == 2);
  CHECK(merged["b"]["d"] == "x");
  CHECK(merged["e"] == "path");
}

TEST_CASE("config rejects unknown keys with the nearest suggestion", "[config]") {
  const json defaults = attune::classification::default_config();
  const std::string msg = error_of([&] { config::merge(defaults, {{"train", {{"learning_rat", 1.0}}}}, "run.json"); });
  CHECK(msg.find("run.json") == 0);
  CHECK(msg.find("unknown config key 'train.learning_rat'") != std::string::npos);
  const std::string typo = error_of([&] { config::merge(defaults, {{"trian", json::object()}}, "run.json"); });
  CHECK(typo.find("did you mean 'train'") != std::string::npos);
  const std::string lr = error_of([&] { config::merge(defaults, {{"train", {{"lrr", 1.0}}}}, "run.json"); });
  CHECK(lr.find("did you mean 'train.lr'") != std::string::npos);
}

TEST_CASE("config rejects values of the wrong type", "[config]") {
  const json defaults = attune::classification::default_config();
  const std::string msg = error_of([&] { config::merge(defaults, {{"train", {{"epochs", "three"}}}}, "run.json"); });
  CHECK(msg == "run.json: train.epochs: expected an integer, got a string");
  // An integer is accepted where a float is expected, not the reverse.
  CHECK_NOTHROW(config::merge(defaults, {{"train", {{"lr", 1}}}}, "run.json"));
  CHECK_THROWS_AS(config::merge(defaults, {{"train", {{"epochs", 1.5}}}}, "run.json"), UserError);
  CHECK_THROWS_AS(config::merge(defaults, json::array(), "run.json"), UserError);
}

TEST_CASE("--set overrides parse JSON values and dotted paths", "[config]") {
  json c = attune::classification::default_config();
  config::apply_overrides(c, {"train.lr=3e-4", "data.train=/tmp/a,b.csv", "model.hidden_size=64", "head.pooling=cls"});
  CHECK(c["train"]["lr"].get<double>() == Approx(3e-4));
  CHECK(c["data"]["train"] == "/tmp/a,b.csv");
  CHECK(c["model"]["hidden_size"] == 64);
  CHECK(c["head"]["pooling"] == "cls");
  CHECK(error_of([&] { config::apply_overrides(c, {"train.epoch=3"}); }).find("did you mean 'train.epochs'") !=
        std::string::npos);
  CHECK(error_of([&] { config::apply_overrides(c, {"novalue"}); }) == "--set novalue: expected key=value");
}

TEST_CASE("typed getters check ranges and name the key", "[config]") {
  const json section = {{"epochs", 0}, {"lr", -1.0}, {"pooling", "max"}};
  CHECK(error_of([&] { config::get_int(section, "epochs", "train", 1, 10); }) ==
        "train.epochs: value 0 out of range [1, 10]");
  CHECK(error_of([&] { config::get_double(section, "lr", "train", 0.0, 1.0); }).find("train.lr: value -1") == 0);
  CHECK(error_of([&] { config::get_choice(section, "pooling", "head", {"cls", "mean"}); }) ==
        "head.pooling: unknown value 'max' (known: cls, mean)");
  CHECK(error_of([&] { config::get_int(section, "missing", "train", 0, 1); }) == "train.missing: missing config key");
}

TEST_CASE("nearest suggests only plausible typos", "[config]") {
  CHECK(config::nearest("epoch", {"epochs", "lr", "seed"}) == "epochs");
  CHECK(config::nearest("completely_different", {"epochs", "lr"}).empty());
}
