#include "models/peft/lora/method.h"

#include "core/config.h"
#include "core/error.h"
#include "models/peft/lora/layer.h"
#include "models/peft/targets.h"
#include "models/peft/validate.h"

namespace attune::peft {
namespace {

using nlohmann::json;

class LoraMethod : public Method {
 public:
  std::string name() const override { return "lora"; }
  std::string peft_type() const override { return "LORA"; }
  // target_modules null: the architecture's (default_targets.h).
  json defaults() const override {
    return {{"r", 8}, {"lora_alpha", 8}, {"lora_dropout", 0.0}, {"target_modules", nullptr},
            {"bias", "none"}, {"use_rslora", false}, {"modules_to_save", nullptr}};
  }
  void validate(json& out, const std::string& key) const override {
    config::int_or(out, "r", key, 1, 8);
    check_shared_keys(out, key);
  }
  void to_adapter_config(json& c) const override {
    add_lora_adapter_config_keys(c);
    c["rank_pattern"] = json::object();
    c["alpha_pattern"] = json::object();
  }
  void check_adapter_config(const json& ac, const std::string& path) const override {
    if (ac.contains("rank_pattern") && ac["rank_pattern"].is_object() && !ac["rank_pattern"].empty()) {
      fail(path + ": rank_pattern", "is not supported for LoRA");
    }
  }
  std::unique_ptr<Attachment> attach(torch::nn::Module& root, const std::string& name, const json& c,
                                     const std::string& key) const override {
    const LoraOptions options = LoraOptions(c.at("r").get<int64_t>(), c.at("lora_alpha").get<double>())
                                    .dropout(c.at("lora_dropout").get<double>())
                                    .use_rslora(c.at("use_rslora").get<bool>());
    return std::make_unique<Attachment>(adapt_linear_layers(
        root, name, c, key, [&](const std::string&, int64_t in, int64_t out) { return LoraAdapter(in, out, options).ptr(); }));
  }
};

}  // namespace

std::unique_ptr<Method> make_lora() { return std::make_unique<LoraMethod>(); }

void add_lora_adapter_config_keys(json& c) {
  c["fan_in_fan_out"] = false;
  c["init_lora_weights"] = true;
  c["layers_to_transform"] = nullptr;
  c["layers_pattern"] = nullptr;
  c["use_dora"] = false;
}

}  // namespace attune::peft
