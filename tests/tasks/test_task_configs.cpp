// Each task's typed run config: the defaults parse, every section writes back what it
// read, and errors name the key path, including the rules across sections.
#include "tests/catch.h"
#include "tests/common/errors.h"

#include "core/schema.h"
#include "tasks/classification/config.h"
#include "tasks/image_classification/config.h"
#include "tasks/pretraining/config.h"
#include "tasks/recommendation/config.h"
#include "tasks/translation/config.h"

using attune::testing::error_of;
using nlohmann::json;
namespace config = attune::config;

namespace {

// `section` written back holds exactly what the defaults hold (a task may show part of a
// shared section: only those keys are compared).
template <typename T>
void check_round_trip(const json& defaults, const std::string& key, const T& parsed) {
  INFO(key);
  const json written = config::to_json(parsed);
  for (const auto& item : defaults.at(key).items()) {
    INFO(item.key());
    REQUIRE(written.contains(item.key()));
    CHECK(written.at(item.key()) == item.value());
  }
}

struct Example {
  int64_t size = 3;
  std::optional<int64_t> width;
  std::optional<double> scale;
  std::vector<std::string> names;
  attune::models::EncoderAttentionOptions attention;
  static void describe(config::Schema<Example>& s) {
    s.integer("size", &Example::size, 1, 10, "a size");
    s.optional_integer("width", &Example::width, 1, 100, "null: unset");
    s.optional_number("scale", &Example::scale, 0.0, 1.0, "null: unset");
    s.string_list("names", &Example::names, "names");
    s.embed(&Example::attention);
    s.check([](const Example& e, const std::string& prefix) {
      if (e.width && *e.width < e.size) attune::fail(config::key_path(prefix, "width"), "must be at least size");
    });
  }
};

}  // namespace

TEST_CASE("schema fields: optional values, name lists, embedded sections and rules", "[config]") {
  const json defaults = config::defaults<Example>();
  CHECK(defaults.at("width").is_null());
  CHECK(defaults.at("names") == json::array());
  CHECK(defaults.at("position_bias") == "none");  // the embedded section's keys, flat
  const Example e = config::parse<Example>(
      {{"width", 5}, {"scale", 0.5}, {"names", {"a", "b"}}, {"position_bias", "alibi"}}, "x");
  CHECK(*e.width == 5);
  CHECK(*e.scale == 0.5);
  CHECK(e.names == std::vector<std::string>{"a", "b"});
  CHECK(e.attention.position_bias == "alibi");
  CHECK(config::parse<Example>(config::to_json(e), "x").attention.position_bias == "alibi");
  CHECK(config::to_json(config::parse<Example>(config::to_json(e), "x")) == config::to_json(e));
  CHECK(error_of([] { config::parse<Example>({{"width", 2}}, "x"); }) == "x.width: must be at least size");
  CHECK(error_of([] { config::parse<Example>({{"names", {"a", 3}}}, "x"); }) ==
        "x.names: expected a list of names, got [\"a\",3]");
  CHECK(error_of([] { config::parse<Example>({{"scale", 2.0}}, "x"); }) == "x.scale: value 2 out of range [0, 1]");
  CHECK(error_of([] { config::parse<Example>({{"position_bias", "rotary"}}, "x"); }) ==
        "x.position_bias: unknown value 'rotary' (known: none, alibi, relative)");
  CHECK(error_of([] { config::parse<Example>({{"attention_mask", {{"window", 0}}}}, "x"); })
            .rfind("x.attention_mask.window", 0) == 0);
  CHECK(error_of([] { config::parse<Example>({{"widht", 5}}, "x"); }) ==
        "x.widht: unknown config key (did you mean 'x.width'?)");
}

TEST_CASE("text classification's config: typed sections round-trip, rules across sections", "[config]") {
  namespace cls = attune::classification;
  json c = cls::default_config();
  const cls::Config parsed = cls::parse_config(c);
  check_round_trip(c, "data", parsed.data);
  check_round_trip(c, "head", parsed.head);
  check_round_trip(c, "tokenizer", parsed.tokenizer);
  CHECK(parsed.model == c.at("model"));
  CHECK_FALSE(cls::peft_enabled(parsed));
  c["data"]["context_columns"] = {"age"};
  CHECK(cls::column_spec(cls::parse_config(c).data, false).context == std::vector<std::string>{"age"});
  c["peft"]["method"] = "lora";
  CHECK(error_of([&] { cls::parse_config(c); }) ==
        "data.context_columns: context attention's maps are not a PEFT module yet: use it with full fine-tuning");
  c["data"]["context_columns"] = json::array();
  CHECK(cls::parse_config(c).peft.at("r") == 8);  // the method's defaults, filled in once
  c["data"]["max_length"] = 600;
  CHECK(error_of([&] { cls::parse_config(c); }) ==
        "data.max_length: 600 exceeds model.max_length (512 position embeddings)");
  c["data"]["max_length"] = 128;
  c["head"]["pooling"] = "max";
  CHECK(error_of([&] { cls::parse_config(c); }) == "head.pooling: unknown value 'max' (known: cls, mean, attention)");
  c["head"]["pooling"] = "mean";
  c["model"]["hidden_size"] = 100;
  c["model"]["num_heads"] = 3;
  CHECK(error_of([&] { cls::parse_config(c); }) == "model.hidden_size: hidden_size 100 is not divisible by num_heads 3");
}

TEST_CASE("the other tasks' configs: typed sections round-trip, rules across sections", "[config]") {
  {
    namespace mlm = attune::pretraining;
    json c = mlm::default_config();
    const mlm::Config parsed = mlm::parse_config(c);
    check_round_trip(c, "data", parsed.data);
    check_round_trip(c, "mlm", parsed.mlm);
    // The model section is any masked-LM family's; the defaults' is BERT's.
    check_round_trip(c, "model", attune::models::parse_bert_model_config(parsed.model, "model"));
    check_round_trip(c, "tokenizer", parsed.tokenizer);
    CHECK(parsed.train.batch_size == 64);
    CHECK(parsed.init.empty());
    c["mlm"]["max_length"] = 1024;
    CHECK(error_of([&] { mlm::parse_config(c); }) ==
          "mlm.max_length: 1024 exceeds model.max_length (512 position embeddings)");
    c["mlm"]["max_length"] = 128;
    c["mlm"]["mlm_probability"] = 0.0;
    CHECK(error_of([&] { mlm::parse_config(c); }) == "mlm.mlm_probability: must be in (0, 1), got 0.000000");
  }
  {
    namespace img = attune::image_classification;
    json c = img::default_config();
    const img::Config parsed = img::parse_config(c);
    check_round_trip(c, "data", parsed.data);
    check_round_trip(c, "augment", parsed.augment);
    check_round_trip(c, "model", parsed.model);
    c["model"]["num_heads"] = 5;
    CHECK(error_of([&] { img::parse_config(c); }) == "model.num_heads: must divide model.hidden_size");
    c["model"]["num_heads"] = 3;
    c["data"]["labels"] = {"cat", 1};
    CHECK(error_of([&] { img::parse_config(c); }).rfind("data.labels: expected a list of class names", 0) == 0);
  }
  {
    namespace rec = attune::recommendation;
    json c = rec::default_config();
    const rec::Config parsed = rec::parse_config(c);
    check_round_trip(c, "data", parsed.data);
    check_round_trip(c, "model", parsed.model);
    check_round_trip(c, "objective", parsed.objective);
    check_round_trip(c, "eval", parsed.eval);
    CHECK_FALSE(parsed.data.min_rating);
    c["data"]["min_rating"] = 4;
    CHECK(rec::sequence_options(rec::parse_config(c).data).min_rating == 4.0);
    c["model"]["name"] = "context";
    c["objective"]["loss"] = "softmax";
    CHECK(error_of([&] { rec::parse_config(c); }).rfind("objective.loss: the context model trains with bce", 0) == 0);
    c["model"]["name"] = "sasrek";
    CHECK(error_of([&] { rec::parse_config(c); }).rfind("model.name: unknown value 'sasrek'", 0) == 0);
  }
  {
    namespace tr = attune::translation;
    json c = tr::default_config();
    const tr::Config parsed = tr::parse_config(c);
    check_round_trip(c, "data", parsed.data);
    check_round_trip(c, "decode", parsed.decode);
    check_round_trip(c, "model", parsed.model);
    // The train section is the engine's keys plus translation's own.
    json train = config::to_json(parsed.train, {"epochs", "lr", "schedule"});
    train.update(config::to_json(parsed.translation_train));
    for (const auto& item : train.items()) CHECK(c.at("train").at(item.key()) == item.value());
    CHECK(parsed.translation_train.max_tokens == 4096);
    c["data"]["train"] = {{"source", "a.de"}, {"targte", "a.en"}};
    CHECK(error_of([&] { tr::parse_config(c); }).rfind("data.train.target: expected a path", 0) == 0);
    c["data"]["train"] = "pairs.tsv";
    c["model"]["max_positions"] = 100;
    CHECK(error_of([&] { tr::parse_config(c); }) ==
          "data.max_source_tokens: source/target limits (128, 128) plus EOS/BOS exceed model.max_positions (100)");
    c["model"]["max_positions"] = nullptr;
    c["tokenizer"]["type"] = "wordpiece";
    CHECK(error_of([&] { tr::parse_config(c); }) ==
          "tokenizer.type: translation needs a sentencepiece tokenizer (it detokenizes its output)");
  }
}
