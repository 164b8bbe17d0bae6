#include "models/peft/bottleneck/method.h"

#include "core/config.h"
#include "core/error.h"
#include "models/peft/bottleneck/layer.h"
#include "models/peft/targets.h"
#include "models/peft/validate.h"

#include <algorithm>

namespace attune::peft {
namespace {

using nlohmann::json;

class BottleneckMethod : public Method {
 public:
  std::string name() const override { return "bottleneck"; }
  std::string peft_type() const override { return "ATTUNE_BOTTLENECK"; }
  json defaults() const override {
    return {{"variant", "houlsby"}, {"reduction_factor", 16}, {"non_linearity", "relu"}, {"target_modules", nullptr},
            {"modules_to_save", nullptr}};
  }
  void validate(json& out, const std::string& key) const override {
    check_shared_keys(out, key);
    const std::string variant = config::string_or(out, "variant", key, "houlsby");
    if (variant != "houlsby" && variant != "pfeiffer") {
      fail(key + ".variant", "must be houlsby or pfeiffer, got '" + variant + "'");
    }
    config::int_or(out, "reduction_factor", key, 1, 16);
    models::parse_activation(config::string_or(out, "non_linearity", key, "relu"), key + ".non_linearity");
    if (out["target_modules"].is_null()) {
      // Houlsby: after the attention projection and after the feed-forward; Pfeiffer:
      // after the feed-forward only. Both sit before the residual sum and LayerNorm.
      out["target_modules"] = variant == "houlsby" ? R"(.*\.layer\.\d+\.(attention\.)?output\.dense)"
                                                   : R"(.*\.layer\.\d+\.output\.dense)";
    }
  }
  std::unique_ptr<Attachment> attach(torch::nn::Module& root, const std::string& name, const json& c,
                                     const std::string& key) const override {
    const int64_t reduction = c.at("reduction_factor").get<int64_t>();
    const models::Activation activation =
        models::parse_activation(c.at("non_linearity").get<std::string>(), key + ".non_linearity");
    return std::make_unique<Attachment>(adapt_linear_layers(root, name, c, key, [&](const std::string&, int64_t, int64_t out) {
      return BottleneckAdapter(out, std::max<int64_t>(1, out / reduction), activation).ptr();
    }));
  }
  // A residual MLP on the output is not linear in the base weights; it exports as itself.
  bool mergeable() const override { return false; }
};

}  // namespace

std::unique_ptr<Method> make_bottleneck() { return std::make_unique<BottleneckMethod>(); }

}  // namespace attune::peft
