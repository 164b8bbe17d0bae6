#include "models/peft/adalora/method.h"

#include "core/config.h"
#include "core/error.h"
#include "models/peft/adalora/allocator.h"
#include "models/peft/lora/method.h"
#include "models/peft/targets.h"
#include "models/peft/validate.h"

namespace attune::peft {
namespace {

using nlohmann::json;

// AdaLoRA's layers and their rank allocator, which prunes them as training goes.
class AdaLoraAttachment : public Attachment {
 public:
  AdaLoraAttachment(AdaptedLayers layers, std::vector<std::pair<std::string, AdaLoraAdapter>> svd,
                    const AdaLoraSchedule& schedule)
      : Attachment(std::move(layers)), svd_(svd), allocator_(std::move(svd), schedule) {}

  // Only the ranks kept, as PEFT's resize_state_dict_by_rank_pattern.
  formats::NamedTensors to_file(formats::NamedTensors mapped) override {
    if (allocator_.rank_pattern().is_null()) return mapped;
    std::map<std::string, torch::Tensor> kept;
    for (const auto& [path, layer] : svd_) {
      kept[kModelPrefix + file_path(path) + ".lora_"] = layer->lora_E.view(-1).ne(0).nonzero().view(-1);
    }
    for (auto& [key, v] : mapped) {
      for (const auto& [stem, index] : kept) {
        if (key == stem + "A" || key == stem + "E") v = v.index_select(0, index);
        if (key == stem + "B") v = v.index_select(1, index);
      }
    }
    return mapped;
  }
  // Files hold only the kept ranks: scattered back into the full-rank tensors.
  torch::Tensor from_file(const std::string& key, torch::Tensor v, const torch::Tensor& target,
                          const json& file_config, const std::string& config_path,
                          const std::string& weights_path) override {
    const json rank_pattern = file_config.value("rank_pattern", json());
    if (!rank_pattern.is_object()) return v;
    for (const auto& [path, layer] : layers()) {
      const std::string stem = kModelPrefix + file_path(path) + ".lora_";
      if (key != stem + "A" && key != stem + "B" && key != stem + "E") continue;
      const std::string entry = file_path(path) + ".lora_E";
      const json& flags = rank_pattern.value(entry, json());
      if (!flags.is_array()) fail(config_path, "rank_pattern has no entry '" + entry + "'");
      std::vector<int64_t> index;
      for (size_t i = 0; i < flags.size(); ++i) {
        if (flags[i].get<bool>()) index.push_back(static_cast<int64_t>(i));
      }
      const int64_t dim = key == stem + "B" ? 1 : 0;
      if (v.dim() != target.dim() || v.size(dim) != static_cast<int64_t>(index.size())) {
        fail(weights_path, "tensor '" + key + "' does not match the rank pattern");
      }
      torch::Tensor full = torch::zeros_like(target);
      full.index_copy_(dim, torch::tensor(index).to(target.device()), v.to(target.device()));
      v = full;
    }
    return v;
  }
  void describe(json& c) const override {
    c["rank_pattern"] = allocator_.rank_pattern();
    if (c["rank_pattern"].is_object()) {
      json named = json::object();
      for (const auto& [path, layer] : svd_) named[file_path(path) + ".lora_E"] = c["rank_pattern"].at(path + ".lora_E");
      c["rank_pattern"] = named;
    }
    if (c["total_step"].is_null()) c["total_step"] = 1;  // PEFT refuses a missing total_step
  }

  torch::Tensor regularizer(const json& config) const override {
    const double weight = config.value("orth_reg_weight", 0.0);
    if (weight == 0.0) return {};
    return allocator_.orthogonal_regularizer() * weight;
  }
  void after_optimizer_step(int64_t global_step, int64_t total_steps, json& config) override {
    config["total_step"] = total_steps;
    allocator_.update_and_allocate(global_step, total_steps);
  }
  // Rank allocation reads scores on the host between steps and prunes in place.
  bool capturable() const override { return false; }
  formats::NamedTensors state() const override { return allocator_.state(); }
  void load_state(const std::map<std::string, torch::Tensor>& tensors) override { allocator_.load_state(tensors); }
  const RankAllocator* rank_allocator() const override { return &allocator_; }

 private:
  std::vector<std::pair<std::string, AdaLoraAdapter>> svd_;
  RankAllocator allocator_;
};

class AdaLoraMethod : public Method {
 public:
  std::string name() const override { return "adalora"; }
  std::string peft_type() const override { return "ADALORA"; }
  json defaults() const override {
    return {{"init_r", 12}, {"target_r", 8}, {"lora_alpha", 8}, {"lora_dropout", 0.0},
            {"target_modules", nullptr}, {"bias", "none"}, {"tinit", 0}, {"tfinal", 0}, {"deltaT", 1},
            {"beta1", 0.85}, {"beta2", 0.85}, {"orth_reg_weight", 0.5}, {"total_step", nullptr},
            {"modules_to_save", nullptr}};
  }
  void validate(json& out, const std::string& key) const override {
    const auto at = [&](const std::string& field) { return key + "." + field; };
    const int64_t init_r = config::int_or(out, "init_r", key, 1, 12);
    const int64_t target_r = config::int_or(out, "target_r", key, 1, 8);
    if (target_r > init_r) fail(at("target_r"), "must not exceed init_r (" + std::to_string(init_r) + ")");
    config::int_or(out, "tinit", key, 0, 0);
    config::int_or(out, "tfinal", key, 0, 0);
    config::int_or(out, "deltaT", key, 1, 1);
    for (const char* beta : {"beta1", "beta2"}) {
      const double b = config::rate_or(out, beta, key, 0.85);
      if (b <= 0.0) fail(at(beta), "must be in (0, 1)");
    }
    const json& w = out["orth_reg_weight"];
    if (!w.is_number() || w.get<double>() < 0) fail(at("orth_reg_weight"), "must be a number >= 0, got " + w.dump());
    check_shared_keys(out, key);
  }
  void to_adapter_config(json& c) const override {
    add_lora_adapter_config_keys(c);
    if (!c.contains("rank_pattern")) c["rank_pattern"] = nullptr;
  }
  std::vector<std::string> file_keys() const override { return {"rank_pattern"}; }
  std::vector<std::string> file_state_keys() const override { return {"rank_pattern"}; }
  std::unique_ptr<Attachment> attach(torch::nn::Module& root, const std::string& name, const json& c,
                                     const std::string& key) const override {
    AdaLoraSchedule s;
    s.init_r = c.at("init_r").get<int64_t>();
    s.target_r = c.at("target_r").get<int64_t>();
    s.tinit = c.at("tinit").get<int64_t>();
    s.tfinal = c.at("tfinal").get<int64_t>();
    s.delta_t = c.at("deltaT").get<int64_t>();
    s.beta1 = c.at("beta1").get<double>();
    s.beta2 = c.at("beta2").get<double>();
    const double alpha = c.at("lora_alpha").get<double>(), dropout = c.at("lora_dropout").get<double>();
    std::vector<std::pair<std::string, AdaLoraAdapter>> svd;
    AdaptedLayers layers = adapt_linear_layers(root, name, c, key, [&](const std::string& path, int64_t in, int64_t out) {
      svd.emplace_back(path, AdaLoraAdapter(in, out, s.init_r, alpha, dropout));
      return svd.back().second.ptr();
    });
    return std::make_unique<AdaLoraAttachment>(std::move(layers), std::move(svd), s);
  }
  std::string state_prefix() const override { return "adalora."; }
};

}  // namespace

std::unique_ptr<Method> make_adalora() { return std::make_unique<AdaLoraMethod>(); }

}  // namespace attune::peft
