// Typed config sections (core/schema.h): one describe() gives defaults, checks and
// a writer that round-trips.
#include "tests/catch.h"
#include "tests/common/errors.h"

#include "core/schema.h"

using attune::testing::error_of;
using nlohmann::json;
namespace config = attune::config;

namespace {

struct Section {
  int64_t layers = 4;
  double dropout = 0.1;
  bool pre_norm = false;
  std::string pooling = "mean";
  std::string vocab;  // a path; null when not given
  static void describe(config::Schema<Section>& s) {
    s.integer("layers", &Section::layers, 1, 64, "encoder layers")
        .number("dropout", &Section::dropout, 0.0, 0.99, "dropout rate")
        .boolean("pre_norm", &Section::pre_norm, "LayerNorm before each block")
        .choice("pooling", &Section::pooling, {"cls", "mean"}, "how a sequence becomes one vector")
        .optional_string("vocab", &Section::vocab, "a vocab.txt to read");
  }
};

}  // namespace

TEST_CASE("a schema's defaults come from the struct's initialisers", "[schema]") {
  const json d = config::defaults<Section>();
  CHECK(d == json{{"layers", 4}, {"dropout", 0.1}, {"pre_norm", false}, {"pooling", "mean"}, {"vocab", nullptr}});
  CHECK(d["layers"].is_number_integer());
  CHECK(d["dropout"].is_number_float());
  CHECK(config::help_lines<Section>("model")[3] == "model.pooling: how a sequence becomes one vector (cls, mean)");
}

TEST_CASE("parse reads every key, keeps defaults for absent ones, and round-trips", "[schema]") {
  const json given = {{"layers", 2}, {"dropout", 0}, {"pooling", "cls"}, {"vocab", "v.txt"}};
  const Section s = config::parse<Section>(given, "model");
  CHECK(s.layers == 2);
  CHECK(s.dropout == 0.0);
  CHECK_FALSE(s.pre_norm);
  CHECK(s.pooling == "cls");
  CHECK(s.vocab == "v.txt");
  const json written = config::to_json(s);
  CHECK(config::to_json(config::parse<Section>(written, "model")) == written);
  CHECK(config::parse<Section>(json{{"vocab", nullptr}}, "model").vocab.empty());
}

TEST_CASE("parse errors name the full key path", "[schema]") {
  CHECK(error_of([] { config::parse<Section>(json{{"layers", 0}}, "model"); }) ==
        "model.layers: value 0 out of range [1, 64]");
  CHECK(error_of([] { config::parse<Section>(json{{"layers", 2.5}}, "model"); }) ==
        "model.layers: expected an integer, got a number");
  CHECK(error_of([] { config::parse<Section>(json{{"dropout", 1.5}}, "a.model"); }) ==
        "a.model.dropout: value 1.5 out of range [0, 0.99]");
  CHECK(error_of([] { config::parse<Section>(json{{"pooling", "max"}}, "head"); }) ==
        "head.pooling: unknown value 'max' (known: cls, mean)");
  CHECK(error_of([] { config::parse<Section>(json{{"pre_norm", "yes"}}, "model"); }) ==
        "model.pre_norm: expected true/false, got a string");
  CHECK(error_of([] { config::parse<Section>(json{{"layer", 2}}, "model"); }) ==
        "model.layer: unknown config key (did you mean 'model.layers'?)");
  CHECK(error_of([] { config::parse<Section>(json::array(), "model"); }) == "model: expected an object");
  // A task's own keys in a shared section pass when asked to.
  CHECK(config::parse<Section>(json{{"max_tokens", 10}, {"layers", 3}}, "train", config::UnknownKeys::kIgnore).layers == 3);
}
