#include "models/peft/prefix/method.h"

#include "core/config.h"
#include "core/error.h"
#include "models/attention/attention.h"
#include "models/common/positions_after_prefix.h"
#include "models/peft/prefix/encoder.h"
#include "models/peft/validate.h"

namespace attune::peft {
namespace {

using nlohmann::json;

// A prefix encoder under root.prompt_encoder.<name>, whose slices every attention layer
// reads as past keys and values while it is in effect.
class PrefixAttachment : public Attachment {
 public:
  PrefixAttachment(torch::nn::Module& root, PrefixEncoder prefix, int64_t num_heads)
      : root_(root), prefix_(std::move(prefix)), num_heads_(num_heads) {}

  void set_in_effect(bool on) override { set_prefix_everywhere(on ? prefix_ : nullptr); }
  std::vector<torch::Tensor> extra_parameters() override { return prefix_->parameters(true); }
  void unload() override {
    set_prefix_everywhere(nullptr);
    if (root_.named_children().contains(kPromptEncoder)) root_.unregister_module(kPromptEncoder);
  }

  formats::NamedTensors to_file(formats::NamedTensors mapped) override {
    torch::NoGradGuard no_grad;
    mapped.insert(mapped.begin(), {"prompt_embeddings", prefix_->forward().detach()});
    return mapped;
  }
  std::vector<std::string> extra_file_keys() const override { return {"prompt_embeddings"}; }
  bool load_extra(const std::string& key, const torch::Tensor& value, const std::string& weights_path) override {
    if (key != "prompt_embeddings") return false;
    try {
      prefix_->load_table(value.to(torch::kFloat));
    } catch (const c10::Error& e) {
      fail(weights_path, std::string(e.what_without_backtrace()).substr(0, 200));
    }
    return true;
  }
  void describe(json& c) const override {
    c["num_layers"] = prefix_->options().num_layers();
    c["token_dim"] = prefix_->options().hidden_size();
    c["num_transformer_submodules"] = 1;
    c["num_attention_heads"] = num_heads_;
    if (c["encoder_hidden_size"].is_null()) c["encoder_hidden_size"] = prefix_->options().hidden_size();
  }

 private:
  // Hands each attention layer its slice of `prefix` (or removes it: an empty holder) and
  // moves the real tokens' positions past it.
  void set_prefix_everywhere(const PrefixEncoder& prefix) {
    int64_t index = 0;
    for (const auto& module : root_.modules(false)) {
      if (auto* mha = module->as<models::MultiHeadAttentionImpl>()) {
        mha->set_prefix(prefix ? std::make_shared<LayerPrefix>(prefix, index++) : nullptr);
      }
      if (auto* positions = dynamic_cast<models::PositionsAfterPrefix*>(module.get())) {
        positions->set_past_length(prefix ? prefix->options().num_virtual_tokens() : 0);
      }
    }
  }

  torch::nn::Module& root_;
  PrefixEncoder prefix_;
  int64_t num_heads_;
};

class PrefixTuningMethod : public Method {
 public:
  std::string name() const override { return "prefix_tuning"; }
  std::string peft_type() const override { return "PREFIX_TUNING"; }
  json defaults() const override {
    return {{"num_virtual_tokens", 20}, {"prefix_projection", false}, {"encoder_hidden_size", nullptr},
            {"init_weights", nullptr}, {"modules_to_save", nullptr}};
  }
  void validate(json& out, const std::string& key) const override {
    check_shared_keys(out, key);
    config::int_or(out, "num_virtual_tokens", key, 1, 20);
    config::bool_or(out, "prefix_projection", key, false);
    config::optional_int(out, "encoder_hidden_size", key, 1);
    const std::string init = config::string_or(out, "init_weights", key, "");
    if (!init.empty() && init != "zero") fail(key + ".init_weights", "must be null or \"zero\", got '" + init + "'");
  }
  // The shape a PEFT file was saved for.
  std::vector<std::string> file_keys() const override { return {"num_layers", "token_dim", "num_attention_heads"}; }
  int64_t prefix_length(const json& resolved) const override { return resolved.at("num_virtual_tokens").get<int64_t>(); }

  std::unique_ptr<Attachment> attach(torch::nn::Module& root, const std::string& name, const json& c,
                                     const std::string& key) const override {
    std::vector<models::MultiHeadAttentionImpl*> attentions;
    for (const auto& module : root.modules(false)) {
      if (auto* mha = module->as<models::MultiHeadAttentionImpl>()) attentions.push_back(mha);
    }
    if (attentions.empty()) fail(key + ".method", "prefix tuning needs a model with attention layers");
    const int64_t hidden = attentions.front()->options().embed_dim();
    const int64_t layers = static_cast<int64_t>(attentions.size());
    const std::pair<const char*, int64_t> expected[] = {
        {"num_layers", layers}, {"token_dim", hidden}, {"num_attention_heads", attentions.front()->options().num_heads()}};
    for (const auto& [field, value] : expected) {
      if (c.contains(field) && !c[field].is_null() && c[field] != value) {
        fail(key + "." + field, c[field].dump() + " does not match the model (" + std::to_string(value) + ")");
      }
    }
    PrefixEncoderOptions o(c.at("num_virtual_tokens").get<int64_t>(), layers, hidden);
    o.prefix_projection(c.at("prefix_projection").get<bool>())
        .encoder_hidden_size(c.at("encoder_hidden_size").is_null() ? hidden : c.at("encoder_hidden_size").get<int64_t>())
        .zero_init(c.at("init_weights").is_string());
    PrefixEncoder prefix(o);
    if (!root.named_children().contains(kPromptEncoder)) {
      root.register_module(kPromptEncoder, std::make_shared<torch::nn::Module>());
    }
    root.named_children()[kPromptEncoder]->register_module(name, prefix);
    if (!root.parameters().empty()) prefix->to(root.parameters().front().device());
    // adapter_config.json's num_attention_heads: the last attention layer's.
    return std::make_unique<PrefixAttachment>(root, prefix, attentions.back()->options().num_heads());
  }
  bool mergeable() const override { return false; }
  // Prompt-learning methods do not wrap the model in a tuner, so PEFT names their
  // modules_to_save one level up: "base_model.classifier.weight".
  std::string saved_modules_prefix() const override { return "base_model."; }
};

}  // namespace

std::unique_ptr<Method> make_prefix_tuning() { return std::make_unique<PrefixTuningMethod>(); }

}  // namespace attune::peft
