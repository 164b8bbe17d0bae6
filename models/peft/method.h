// One PEFT method, as Hugging Face PEFT's peft/tuners/<method>/: its config keys and
// their checks, how it attaches to a model, whether it merges, and its part of the
// adapter files. Each method lives in models/peft/<method>/ and is one line of
// registry.cpp; PeftModel (peft_model.h) does the rest for every method alike.
#pragma once
#include "data/formats/safetensors.h"
#include "models/common/linear.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace attune::peft {

class RankAllocator;

// PEFT's file keys are module paths under this prefix ("base_model.model.<path>...").
inline const std::string kModelPrefix = "base_model.model.";
// The root's child that holds prompt-learning modules; never a target or a module to save.
inline const std::string kPromptEncoder = "prompt_encoder";

// The linear layers one adapter changes, in model order: (module path, layer).
using AdaptedLayers = std::vector<std::pair<std::string, models::LinearImpl*>>;

// One adapter of a method on a model: its layers and whatever else the method keeps
// (a prefix encoder, AdaLoRA's rank allocator). The defaults suit a method whose whole
// effect is its layers' adapters.
class Attachment {
 public:
  explicit Attachment(AdaptedLayers layers = {}) : layers_(std::move(layers)) {}
  virtual ~Attachment() = default;
  const AdaptedLayers& layers() const { return layers_; }
  // Set by PeftModel::set_file_names: whatever a method writes keyed by module path
  // (AdaLoRA's rank pattern) must use the files' names for it too.
  void set_file_names(std::function<std::string(const std::string&)> to_file) { to_file_ = std::move(to_file); }
  std::string file_path(const std::string& path) const { return to_file_ ? to_file_(path) : path; }

  // Puts what the adapter adds outside its layers in effect, or takes it out.
  virtual void set_in_effect(bool on) {}
  // Trainable tensors outside its layers' adapters.
  virtual std::vector<torch::Tensor> extra_parameters() { return {}; }
  // Removes what it added to the model outside its layers (merge_and_unload).
  virtual void unload() {}

  // adapter_model.safetensors from the (PEFT key, tensor) pairs of its layers and saved
  // modules: the method adds its own tensors or cuts them.
  virtual formats::NamedTensors to_file(formats::NamedTensors mapped) { return mapped; }
  // File keys it needs besides the mapped ones, and how it loads them (false: not its key).
  virtual std::vector<std::string> extra_file_keys() const { return {}; }
  virtual bool load_extra(const std::string& key, const torch::Tensor& value, const std::string& weights_path) {
    return false;
  }
  // A mapped file tensor as the live `target` takes it; file_config is the adapter
  // config as read, with Method::file_state_keys() still in it.
  virtual torch::Tensor from_file(const std::string& key, torch::Tensor value, const torch::Tensor& target,
                                  const nlohmann::json& file_config, const std::string& config_path,
                                  const std::string& weights_path) {
    return value;
  }
  // Keys adapter_config.json needs for this adapter beyond its config section.
  virtual void describe(nlohmann::json& adapter_config) const {}

  // A loss term (undefined: none); config is the adapter's resolved section.
  virtual torch::Tensor regularizer(const nlohmann::json& config) const { return {}; }
  // After every optimizer step; global_step counts from 1. May update the config.
  virtual void after_optimizer_step(int64_t global_step, int64_t total_steps, nlohmann::json& config) {}
  // False when training works on the host between steps, so steps cannot be captured.
  virtual bool capturable() const { return true; }
  // Resume state beyond trainable tensors, named Method::state_prefix() + "...".
  virtual formats::NamedTensors state() const { return {}; }
  virtual void load_state(const std::map<std::string, torch::Tensor>& tensors) {}
  // AdaLoRA's, for inspection; null for every other method.
  virtual const RankAllocator* rank_allocator() const { return nullptr; }

 private:
  AdaptedLayers layers_;
  std::function<std::string(const std::string&)> to_file_;
};

class Method {
 public:
  virtual ~Method() = default;
  // The "peft.method" value, and PEFT's PeftType (attune's own for methods PEFT lacks).
  virtual std::string name() const = 0;
  virtual std::string peft_type() const = 0;
  // Every key the method takes, with PEFT's default.
  virtual nlohmann::json defaults() const = 0;
  // Checks a section holding exactly defaults()' keys and fills defaults that depend on
  // other keys; errors name key + "." + the field.
  virtual void validate(nlohmann::json& section, const std::string& key) const = 0;

  // Keys PEFT's adapter_config.json has for the method beyond the section's.
  virtual void to_adapter_config(nlohmann::json& adapter_config) const {}
  // Fails on options of a PEFT adapter_config.json that attune does not implement.
  virtual void check_adapter_config(const nlohmann::json& adapter_config, const std::string& path) const {}
  // Keys of a PEFT adapter_config.json kept beside the section (shapes it was saved
  // for), and those among them that are state of the file rather than config.
  virtual std::vector<std::string> file_keys() const { return {}; }
  virtual std::vector<std::string> file_state_keys() const { return {}; }

  // Positions the method puts in front of the real tokens.
  virtual int64_t prefix_length(const nlohmann::json& resolved) const { return 0; }
  // Adds adapter `name` for a resolved section to root (inactive); errors name `key`.
  virtual std::unique_ptr<Attachment> attach(torch::nn::Module& root, const std::string& name,
                                             const nlohmann::json& resolved, const std::string& key) const = 0;
  // Whether the adapter folds into the base weights (merge_and_unload, attune merge).
  virtual bool mergeable() const { return true; }
  // Whether every bias of the model trains (BitFit), whatever the section's "bias".
  virtual bool trains_all_biases() const { return false; }
  // Where the adapter file keeps modules_to_save: PEFT names them one level up for
  // prompt-learning methods, which do not wrap the model in a tuner.
  virtual std::string saved_modules_prefix() const { return kModelPrefix; }
  // Names of its Attachment::state() tensors start with this ("" when it has none).
  virtual std::string state_prefix() const { return ""; }
};

}  // namespace attune::peft
