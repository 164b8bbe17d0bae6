#include "models/bert/bert.h"
#include "models/common/parameters.h"
#include "models/registry.h"
#include "tests/catch.h"
#include "tests/models/reference.h"

using namespace attune::models;
using attune::testing::user_error_message;

namespace {

// The run config's model section after defaults are merged.
nlohmann::json model_section(const std::string& preset) {
  return {{"name", "bert"},       {"preset", preset},       {"hidden_size", nullptr},
          {"num_layers", nullptr}, {"num_heads", nullptr},    {"intermediate_size", nullptr},
          {"activation", "gelu"}, {"dropout", 0.1},         {"attention_dropout", 0.1},
          {"max_length", 64},     {"pre_layer_norm", false}};
}

class ConstantEncoder : public TextEncoderImpl {
 public:
  explicit ConstantEncoder(int64_t width) : width_(width) {}
  EncoderOutput encode(const torch::Tensor& ids, const torch::Tensor&, const torch::Tensor&, bool,
                       const torch::Tensor&) override {
    return {torch::ones({ids.size(0), ids.size(1), width_}), {}, {}};
  }
  int64_t hidden_size() const override { return width_; }
  nlohmann::json config() const override { return {{"name", "constant"}, {"width", width_}}; }

 private:
  int64_t width_;
};

}  // namespace

TEST_CASE("make_text_encoder builds BERT from a preset and resolves its config", "[registry]") {
  auto encoder = make_text_encoder(model_section("tiny"), 100);
  CHECK(encoder->hidden_size() == 128);
  const nlohmann::json cfg = encoder->config();
  CHECK(cfg == nlohmann::json{{"name", "bert"},       {"preset", "tiny"},   {"hidden_size", 128},
                              {"num_layers", 2},      {"num_heads", 2},     {"intermediate_size", 512},
                              {"activation", "gelu"}, {"dropout", 0.1},     {"attention_dropout", 0.1},
                              {"max_length", 64},     {"pre_layer_norm", false}});
  // The resolved config rebuilds the same architecture.
  auto rebuilt = make_text_encoder(cfg, 100);
  CHECK(rebuilt->config() == cfg);
  CHECK(parameter_count(*rebuilt) == parameter_count(*encoder));

  const torch::Tensor ids = torch::randint(0, 100, {3, 5}, torch::kLong);
  encoder->eval();
  const EncoderOutput out = encoder->encode(ids, {}, torch::ones({3, 5}, torch::kLong), true);
  CHECK(out.hidden.sizes() == torch::IntArrayRef({3, 5, 128}));
  CHECK(out.pooled.sizes() == torch::IntArrayRef({3, 128}));
  CHECK(out.attentions.size() == 2);
}

TEST_CASE("explicit sizes override the preset", "[registry]") {
  nlohmann::json section = model_section("tiny");
  section["hidden_size"] = 32;
  section["num_heads"] = 4;
  section["num_layers"] = 1;
  section["activation"] = "relu";
  section["pre_layer_norm"] = true;
  auto encoder = make_text_encoder(section, 40, "encoder");
  auto* bert = dynamic_cast<BertModelImpl*>(encoder.get());
  REQUIRE(bert != nullptr);
  CHECK(bert->options().hidden_size() == 32);
  CHECK(bert->options().num_attention_heads() == 4);
  CHECK(bert->options().num_hidden_layers() == 1);
  CHECK(bert->options().intermediate_size() == 512);  // still the preset's
  CHECK(bert->options().hidden_act() == "relu");
  CHECK(bert->options().vocab_size() == 40);
  CHECK(bert->named_parameters().contains("encoder.final_layer_norm.weight"));

  SECTION("without a preset every size is needed") {
    section["preset"] = nullptr;
    section["intermediate_size"] = 64;
    CHECK(make_text_encoder(section, 40)->config().at("preset").is_null());
    section["intermediate_size"] = nullptr;
    CHECK(user_error_message([&] { make_text_encoder(section, 40); }).rfind("model.preset: no preset given", 0) == 0);
  }
}

TEST_CASE("make_text_encoder reports bad model sections by key", "[registry]") {
  auto error_for = [](const std::string& field, const nlohmann::json& value) {
    nlohmann::json section = model_section("tiny");
    section[field] = value;
    return user_error_message([&] { make_text_encoder(section, 100); });
  };
  const std::string unknown_model = error_for("name", "gpt");
  CHECK(unknown_model.rfind("model.name: unknown model 'gpt' (known: ", 0) == 0);
  CHECK(unknown_model.find("bert") != std::string::npos);
  CHECK(error_for("preset", "huge") ==
        "model.preset: unknown preset 'huge' (known: tiny, mini, small, medium, base, large, roberta-base, distilbert-base, electra-small-discriminator, electra-base-discriminator)");
  CHECK(error_for("num_heads", 3) == "model.hidden_size: hidden_size 128 is not divisible by num_heads 3");
  CHECK(error_for("hidden_size", -8) == "model.hidden_size: value -8 out of range [1, 65536]");
  CHECK(error_for("num_layers", 2.5) == "model.num_layers: expected an integer, got a number");
  CHECK(error_for("dropout", 1.0) == "model.dropout: value 1 out of range [0, 1)");
  CHECK(error_for("attention_dropout", "high") == "model.attention_dropout: expected a number, got a string");
  CHECK(error_for("activation", "mish").rfind("model.activation: unknown activation 'mish'", 0) == 0);
  CHECK(error_for("max_length", 0) == "model.max_length: value 0 out of range [1, 1048576]");
  CHECK(error_for("pre_layer_norm", "yes") == "model.pre_layer_norm: expected true/false, got a string");
  CHECK(error_for("num_layer", 2) == "model.num_layer: unknown config key (did you mean 'model.num_layers'?)");

  nlohmann::json section = model_section("tiny");
  section["preset"] = "huge";
  CHECK(user_error_message([&] { make_text_encoder(section, 100, "encoder"); }).rfind("encoder.preset: ", 0) == 0);
  section.erase("name");
  CHECK(user_error_message([&] { make_text_encoder(section, 100); }).rfind("model.name: ", 0) == 0);
  CHECK(user_error_message([] { make_text_encoder("bert", 100); }).rfind("model: ", 0) == 0);
}

TEST_CASE("other encoder families can register", "[registry]") {
  register_text_encoder("constant", [](const nlohmann::json& cfg, int64_t, const std::string&) {
    return std::make_shared<ConstantEncoder>(cfg.value("width", 3));
  });
  const auto names = text_encoder_names();
  CHECK(std::find(names.begin(), names.end(), "bert") != names.end());
  CHECK(std::find(names.begin(), names.end(), "constant") != names.end());
  auto encoder = make_text_encoder({{"name", "constant"}, {"width", 5}}, 10);
  CHECK(encoder->hidden_size() == 5);
  CHECK(encoder->encode(torch::zeros({2, 4}, torch::kLong), {}, {}, false).hidden.sizes() ==
        torch::IntArrayRef({2, 4, 5}));
}
