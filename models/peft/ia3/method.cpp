#include "models/peft/ia3/method.h"

#include "core/error.h"
#include "models/peft/ia3/layer.h"
#include "models/peft/targets.h"
#include "models/peft/validate.h"

namespace attune::peft {
namespace {

using nlohmann::json;

class Ia3Method : public Method {
 public:
  std::string name() const override { return "ia3"; }
  std::string peft_type() const override { return "IA3"; }
  // Both null: the architecture's keys, values and feed-forward output (default_targets.h).
  json defaults() const override {
    return {{"target_modules", nullptr}, {"feedforward_modules", nullptr},
            {"modules_to_save", nullptr}};
  }
  void validate(json& out, const std::string& key) const override { check_shared_keys(out, key); }
  void to_adapter_config(json& c) const override {
    c["fan_in_fan_out"] = false;
    c["init_ia3_weights"] = true;
  }
  std::unique_ptr<Attachment> attach(torch::nn::Module& root, const std::string& name, const json& c,
                                     const std::string& key) const override {
    const ModuleMatcher targets(c.at("target_modules"), key + ".target_modules", &root);
    const ModuleMatcher feedforward(c.at("feedforward_modules"), key + ".feedforward_modules", &root);
    // PEFT requires feed-forward modules to be a subset of the targets.
    for (const auto& item : root.named_modules("", false)) {
      if (item.value()->as<models::LinearImpl>() && feedforward(item.key()) && !targets(item.key())) {
        fail(key + ".feedforward_modules", "'" + item.key() + "' is not among target_modules");
      }
    }
    return std::make_unique<Attachment>(adapt_linear_layers(root, name, c, key, [&](const std::string& path, int64_t in, int64_t out) {
      return Ia3Adapter(in, out, feedforward(path)).ptr();
    }));
  }
};

}  // namespace

std::unique_ptr<Method> make_ia3() { return std::make_unique<Ia3Method>(); }

}  // namespace attune::peft
