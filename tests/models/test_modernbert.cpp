// ModernBERT: config.json both ways, the run config's model section, and transformers'
// own checkpoints in tests/fixtures/modern_arch (tools/parity/make_modern_arch_fixtures.py):
// outputs to 1e-5 and every parameter's gradient of a probe loss to 1e-4.
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "models/modernbert/hf_names.h"
#include "models/modernbert/masked_lm.h"
#include "models/modernbert/model_config.h"
#include "models/modernbert/modernbert.h"
#include "models/registry.h"
#include "tests/catch.h"
#include "tests/models/reference.h"

#include <filesystem>

namespace fs = std::filesystem;
using namespace attune;
using models::ModernBertOptions;
using testing::user_error_message;

// Named, not anonymous: unity builds put several test files in one translation unit.
namespace modernbert_test {

const std::string kFixtures = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/modern_arch";

double largest_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

// Rows of (B,T,...) at real tokens only: what sliding-window layers leave in a pad row far
// from every real token is not defined by either library.
torch::Tensor real_rows(const torch::Tensor& x, const torch::Tensor& mask) {
  return x.index({mask.to(torch::kBool)});
}

struct Fixture {
  std::string dir;
  nlohmann::json config;
  std::map<std::string, torch::Tensor> expected;
  formats::SafetensorsFile weights;
  torch::Tensor ids, mask;
};

// The fixtures come from the GPU machine, which has transformers. Without the folder the
// fixture tests say so and skip, as test_hf_arch's do; a folder lacking a case fails.
bool have_fixtures() {
  if (fs::is_directory(kFixtures)) return true;
  WARN("no " + kFixtures + " (python3 tools/parity/make_modern_arch_fixtures.py OUT_DIR on a machine with "
       "transformers, then unpack OUT_DIR/modern_arch_fixtures.tar.gz there): skipped");
  return false;
}

Fixture fixture(const std::string& name) {
  Fixture f;
  f.dir = kFixtures + "/" + name;
  INFO("fixture " << f.dir << " (make it with tools/parity/make_modern_arch_fixtures.py on the GPU machine)");
  REQUIRE(fs::exists(f.dir + "/expected.safetensors"));
  f.config = io::read_json(f.dir + "/config.json");
  f.expected = formats::load_safetensors(f.dir + "/expected.safetensors").tensors;
  f.weights = formats::load_safetensors(f.dir + "/model.safetensors");
  f.ids = f.expected.at("input_ids").to(torch::kLong);
  f.mask = f.expected.at("attention_mask").to(torch::kLong);
  return f;
}

// The file's tensors under attune's names for a module whose encoder sits under prefix.
formats::SafetensorsFile renamed(const formats::SafetensorsFile& file, const std::string& prefix) {
  formats::SafetensorsFile out;
  for (const auto& name : file.names) {
    const std::string ours = models::modernbert_name_from_hf(name, prefix);
    out.names.push_back(ours);
    out.tensors[ours] = file.tensors.at(name).to(torch::kFloat);
  }
  return out;
}

// Every parameter's gradient against transformers' (under its name there).
void check_gradients(torch::nn::Module& module, const Fixture& f, const std::string& prefix) {
  int checked = 0;
  for (const auto& p : module.named_parameters()) {
    const std::string hf = models::modernbert_name_to_hf(p.key(), prefix);
    CAPTURE(hf);
    REQUIRE(f.expected.count("grad." + hf));
    REQUIRE(p.value().grad().defined());
    const torch::Tensor want = f.expected.at("grad." + hf);
    const double scale = std::max(1.0, want.abs().max().item<double>());
    CHECK(largest_diff(p.value().grad(), want) / scale < 1e-4);
    ++checked;
  }
  int expected = 0;
  for (const auto& [name, t] : f.expected) expected += name.rfind("grad.", 0) == 0;
  CHECK(checked == expected);
}

ModernBertOptions fixture_options(const Fixture& f, bool head) {
  return models::modernbert_options_from_hf_json(f.config, f.dir + "/config.json").add_head(head);
}

}  // namespace modernbert_test

using namespace modernbert_test;

TEST_CASE("transformers' ModernBertModel: outputs to 1e-5 and gradients to 1e-4", "[modernbert][fixtures]") {
  if (!have_fixtures()) return;
  const Fixture f = fixture("modernbert-base");
  models::ModernBertModel model(fixture_options(f, /*head=*/false));
  formats::load_module_tensors(*model, renamed(f.weights, ""), f.dir);
  model->eval();
  const torch::Tensor hidden = model->forward(f.ids, f.mask);
  CHECK(largest_diff(real_rows(hidden, f.mask), real_rows(f.expected.at("last_hidden_state"), f.mask)) < 1e-5);
  (hidden * f.expected.at("probe")).sum().backward();
  check_gradients(*model, f, "");
}

TEST_CASE("transformers' ModernBertForSequenceClassification, cls and mean pooling, with and without biases",
          "[modernbert][fixtures]") {
  if (!have_fixtures()) return;
  for (const std::string name : {"modernbert-seqcls", "modernbert-biased-seqcls"}) {
    CAPTURE(name);
    const Fixture f = fixture(name);
    const ModernBertOptions options = fixture_options(f, /*head=*/true);
    torch::nn::Module holder;  // "modernbert.*" and "classifier.*", as a classification run names them
    auto encoder = holder.register_module("modernbert", models::ModernBertModel(options));
    const int64_t labels = f.expected.at("logits").size(1);
    auto classifier = holder.register_module("classifier", torch::nn::Linear(options.hidden_size(), labels));
    formats::load_module_tensors(holder, renamed(f.weights, "modernbert."), f.dir);
    holder.eval();
    const models::EncoderOutput out = encoder->encode(f.ids, {}, f.mask, false);
    const torch::Tensor logits = classifier->forward(out.pooled);
    CHECK(largest_diff(real_rows(out.hidden, f.mask), real_rows(f.expected.at("last_hidden_state"), f.mask)) < 1e-5);
    CHECK(largest_diff(logits, f.expected.at("logits")) < 1e-5);
    (logits * f.expected.at("probe")).sum().backward();
    check_gradients(holder, f, "modernbert.");
  }
}

TEST_CASE("transformers' ModernBertForMaskedLM with the decoder tied to the embeddings", "[modernbert][fixtures]") {
  if (!have_fixtures()) return;
  const Fixture f = fixture("modernbert-mlm");
  models::ModernBertForMaskedLM model(fixture_options(f, true));
  formats::SafetensorsFile file = renamed(f.weights, "modernbert.");
  // save_pretrained may keep or drop the tied decoder weight.
  if (file.tensors.erase("decoder.weight")) file.names.erase(std::find(file.names.begin(), file.names.end(), "decoder.weight"));
  formats::load_module_tensors(*model, file, f.dir);
  model->eval();
  const torch::Tensor logits = model->forward(f.ids, f.mask);
  CHECK(largest_diff(real_rows(logits, f.mask), real_rows(f.expected.at("logits"), f.mask)) < 1e-5);
  (logits * f.expected.at("probe")).sum().backward();
  check_gradients(*model, f, "modernbert.");
}

TEST_CASE("ModernBERT's config.json round-trips, in both rope spellings", "[modernbert]") {
  ModernBertOptions o;
  o.vocab_size(90).hidden_size(32).intermediate_size(24).num_hidden_layers(5).num_attention_heads(4)
      .global_attn_every_n_layers(2).local_attention(6).global_rope_theta(1000).local_rope_theta(50)
      .norm_bias(true).classifier_pooling("mean").pad_token_id(3);
  const nlohmann::json written = models::modernbert_options_to_hf_json(o);
  CHECK(written["layer_types"] == nlohmann::json({"full_attention", "sliding_attention", "full_attention",
                                                  "sliding_attention", "full_attention"}));
  const ModernBertOptions back = models::modernbert_options_from_hf_json(written, "config.json");
  CHECK(models::modernbert_options_to_hf_json(back) == written);
  // transformers 4: the legacy keys alone; a null local base means the global one.
  nlohmann::json legacy = written;
  legacy.erase("rope_parameters");
  legacy.erase("layer_types");
  CHECK(models::modernbert_options_from_hf_json(legacy, "c").local_rope_theta() == 50);
  legacy["local_rope_theta"] = nullptr;
  CHECK(models::modernbert_options_from_hf_json(legacy, "c").local_rope_theta() == 1000);
}

TEST_CASE("ModernBERT config.json values attune cannot follow fail naming the key", "[modernbert]") {
  const nlohmann::json base = models::modernbert_options_to_hf_json(
      ModernBertOptions().vocab_size(50).hidden_size(16).intermediate_size(8).num_hidden_layers(3).num_attention_heads(2).pad_token_id(0));
  auto error = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json c = base;
    edit(c);
    return user_error_message([&] { models::modernbert_options_from_hf_json(c, "dir/config.json"); });
  };
  CHECK_THAT(error([](auto& c) { c["layer_types"][1] = "full_attention"; }),
             testing::contains_text("dir/config.json.layer_types"));
  CHECK_THAT(error([](auto& c) { c["rope_parameters"]["full_attention"]["rope_type"] = "yarn"; }),
             testing::contains_text("rope_parameters.full_attention.rope_type"));
  CHECK_THAT(error([](auto& c) { c["num_attention_heads"] = 3; }), testing::contains_text("hidden_size"));
  CHECK_THAT(error([](auto& c) { c["hidden_size"] = 12; c["num_attention_heads"] = 4; }),
             testing::contains_text("even head size"));
  CHECK_THAT(error([](auto& c) { c["classifier_pooling"] = "max"; }), testing::contains_text("classifier_pooling"));
  CHECK_THAT(error([](auto& c) { c["hidden_activation"] = "swiglu"; }), testing::contains_text("hidden_activation"));
}

TEST_CASE("the modernbert model section builds through the registry and round-trips", "[modernbert]") {
  const nlohmann::json section = {{"name", "modernbert"}, {"preset", "mini"}, {"num_layers", 2}, {"local_window", 8}};
  auto encoder = models::make_text_encoder(section, 64);
  auto* model = dynamic_cast<models::ModernBertModelImpl*>(encoder.get());
  REQUIRE(model != nullptr);
  CHECK(model->options().hidden_size() == 256);
  CHECK(model->options().num_hidden_layers() == 2);
  CHECK(model->options().pad_token_id() == 63);
  const nlohmann::json resolved = encoder->config();
  auto again = models::make_text_encoder(resolved, 64);
  CHECK(again->config() == resolved);
  CHECK_THAT(user_error_message([&] { models::check_text_encoder_config({{"name", "modernbert"}}, "model"); }),
             testing::contains_text("model.preset"));
  CHECK_THAT(user_error_message([&] {
               models::check_text_encoder_config({{"name", "modernbert"}, {"preset", "mini"}, {"pooling", "max"}}, "model");
             }),
             testing::contains_text("model.pooling"));
}

TEST_CASE("a local layer attends only inside its window, a global layer everywhere", "[modernbert]") {
  torch::manual_seed(5);
  ModernBertOptions o;
  o.vocab_size(30).hidden_size(16).intermediate_size(8).num_hidden_layers(2).num_attention_heads(2).pad_token_id(0)
      .local_attention(4).global_attn_every_n_layers(2);
  models::ModernBertModel model(o);  // layer 0 global, layer 1 local: +-2 tokens
  model->eval();
  std::vector<torch::Tensor> weights;
  model->forward(torch::randint(1, 30, {1, 12}), {}, &weights);
  REQUIRE(weights.size() == 2);
  CHECK(weights[0][0][0][0][11].item<double>() > 0.0);
  CHECK(weights[1][0][0][0][2].item<double>() > 0.0);
  CHECK(weights[1][0][0][0][3].item<double>() == 0.0);
  CHECK(weights[1][0][0][5][3].item<double>() > 0.0);
  CHECK(weights[1][0][0][5][8].item<double>() == 0.0);
}
