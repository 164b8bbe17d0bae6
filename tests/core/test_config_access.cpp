// The JSON access family's reads of optional fields and the log sink.
#include "tests/catch.h"
#include "tests/common/errors.h"

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"

#include <sstream>

using attune::testing::error_of;
using nlohmann::json;
namespace config = attune::config;

TEST_CASE("optional reads fall back on absent or null keys and name the full path", "[config]") {
  const json section = {{"layers", 4}, {"dropout", 0.1}, {"name", "bert"}, {"size", nullptr}, {"flag", true}};
  CHECK(config::int_or(section, "layers", "model", 1, 12) == 4);
  CHECK(config::int_or(section, "size", "model", 1, 12) == 12);
  CHECK(config::int_or(section, "absent", "model", 1, 7) == 7);
  CHECK_FALSE(config::optional_int(section, "size", "model", 1).has_value());
  CHECK(config::rate_or(section, "dropout", "model", 0.5) == 0.1);
  CHECK(config::positive_or(section, "absent", "model", 2.5) == 2.5);
  CHECK(config::bool_or(section, "flag", "model", false));
  CHECK(config::string_or(section, "name", "model", "x") == "bert");

  CHECK(error_of([&] { config::int_or(json{{"layers", 0}}, "layers", "model", 1, 12); }) ==
        "model.layers: must be a positive integer, got 0");
  CHECK(error_of([&] { config::rate_or(json{{"dropout", 1.0}}, "dropout", "model.head", 0.1); }) ==
        "model.head.dropout: must be in [0, 1), got 1.0");
  CHECK(error_of([&] { config::positive_or(json{{"t", -1}}, "t", "head", 1.0); }) ==
        "head.t: must be a positive number, got -1");
  CHECK(error_of([&] { config::bool_or(json{{"f", 1}}, "f", "", false); }) == "f: must be true or false, got 1");
  CHECK(error_of([&] { config::string_or(json{{"s", 3}}, "s", "a.b", ""); }) == "a.b.s: must be a string, got 3");
}

TEST_CASE("reject_unknown names the unknown key and the known ones", "[config]") {
  CHECK(error_of([] { config::reject_unknown(json{{"num_layer", 2}}, {"num_layers", "hidden_size"}, "model"); }) ==
        "model.num_layer: unknown key (known: num_layers, hidden_size)");
  CHECK_NOTHROW(config::reject_unknown(json{{"num_layers", 2}}, {"num_layers"}, "model"));
  CHECK(config::key_path("", "seed") == "seed");
  CHECK(config::key_path("train", "lr") == "train.lr");
}

TEST_CASE("required reads name the full key path", "[config]") {
  const json train = {{"lr", "fast"}};
  CHECK(error_of([&] { config::get_double(train, "lr", "train", 0, 1); }) == "train.lr: expected a number, got a string");
  CHECK(error_of([&] { config::at_field(train, "epochs", "train"); }) == "train.epochs: missing config key");
}

TEST_CASE("log::Redirect sends out() to a stream for its scope", "[log]") {
  std::ostringstream captured;
  {
    attune::log::Redirect redirect(&captured);
    attune::log::out() << "hello";
    CHECK_FALSE(attune::log::is_terminal());
  }
  CHECK(captured.str() == "hello");
  CHECK(&attune::log::out() != static_cast<std::ostream*>(&captured));
}
