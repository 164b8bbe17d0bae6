// Parameter-efficient fine-tuning of any attune model: attaches named adapters of one
// of the registered methods (registry.h) to a model, freezes everything else, switches
// adapters by name, saves and loads PEFT's adapter files, and merges adapters into the
// base weights. Everything here is the same for every method; what differs is the
// method's (method.h).
#pragma once
#include "data/formats/safetensors.h"
#include "models/peft/method.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace attune::peft {

struct ParameterCount {
  int64_t trainable = 0;
  int64_t total = 0;
  std::string describe() const;  // "trainable params: 1,234 || all params: 5,678 || trainable%: 21.7331"
};

class PeftModel {
 public:
  // root: the whole model (e.g. a classifier); adapter keys are its module paths.
  explicit PeftModel(std::shared_ptr<torch::nn::Module> root);

  // Where transformers names the root's modules otherwise than attune (a ModernBERT
  // classifier's "modernbert.layers.0..." is its "model.layers.0..."), files must use
  // its names for PEFT to load them, and to load PEFT's. to_file maps a module path or
  // tensor name of the root to the file's; unset, files use the root's own.
  using FileNames = std::function<std::string(const std::string&)>;
  void set_file_names(FileNames to_file);
  // The same, chosen per adapter from its resolved config (ViT's names depend on which
  // transformers its target_modules were written for); errors name `key`.
  using FileNamesFor = std::function<FileNames(const nlohmann::json& config, const std::string& key)>;
  void set_file_names_by_config(FileNamesFor choose) { file_names_for_ = std::move(choose); }

  // config.json's model_type of the root ("bert" unset): what an adapter's unset
  // target_modules default to (default_targets.h).
  void set_model_type(std::string model_type) { model_type_ = std::move(model_type); }

  // Adds adapter `name` for a resolved "peft" section (config.h's resolve()) and makes
  // it the active, and only trainable, part of the model. Errors name `key`.
  void add_adapter(const std::string& name, const nlohmann::json& resolved, const std::string& key = "peft");
  // "" runs the base model alone.
  void set_active(const std::string& name);
  const std::string& active() const { return active_; }
  std::vector<std::string> adapter_names() const;
  const nlohmann::json& config(const std::string& name) const;

  // The adapter's tensors under PEFT's file keys ("base_model.model.<path>.lora_A.weight",
  // "prompt_embeddings", ...), AdaLoRA's cut to its rank pattern.
  formats::NamedTensors adapter_tensors(const std::string& name);
  // adapter_config.json + adapter_model.safetensors, as PEFT's save_pretrained writes them.
  void save_adapter(const std::string& dir, const std::string& name, const std::string& task_type);
  // Reads a directory written by save_adapter() or by PEFT into a new adapter `name`
  // and activates it.
  void load_adapter(const std::string& dir, const std::string& name);

  // The base model alone, as a run keeps it beside its adapter (base_model.safetensors):
  // every tensor outside the adapters, those adapters train at their base values (copies).
  formats::NamedTensors base_tensors();

  ParameterCount count() const;
  // What a checkpoint must hold to resume: trainable tensors (module_tensors names)
  // and AdaLoRA's importance state.
  formats::NamedTensors state_tensors() const;
  void load_state_tensors(const formats::SafetensorsFile& file, const std::string& path);

  // The active method's loss term (AdaLoRA's weighted orthogonality), undefined for none.
  torch::Tensor regularizer() const;
  // Call after every optimizer step; global_step counts from 1.
  void after_optimizer_step(int64_t global_step, int64_t total_steps);
  // False when the active method works on the host between steps (AdaLoRA).
  bool capturable() const;
  const RankAllocator* allocator(const std::string& name) const;

  // Whether the adapter folds into the base weights (Method::mergeable).
  bool mergeable(const std::string& name) const;
  // Folds the active adapter into the base weights and removes every adapter, leaving
  // a plain model with the base's tensor names. Methods that are not linear in the
  // weights (bottleneck adapters, prefix tuning) fail.
  void merge_and_unload();
  // For a bundle: folds the active adapter into the base weights where it is linear in
  // them and says what became of it, {"method": name or null, "merged": bool}; adapters
  // that are not linear in them stay, for the script to run as they are.
  nlohmann::json merge_for_export();

 private:
  struct Adapter {
    nlohmann::json config;
    const Method* method = nullptr;
    std::unique_ptr<Attachment> parts;
    std::vector<std::string> owned;                 // base tensors it trains (module_tensors names)
    std::map<std::string, torch::Tensor> stash;     // their values while the adapter is inactive
  };
  Adapter& adapter(const std::string& name);
  const Adapter& adapter(const std::string& name) const;
  void own_tensors(Adapter& a, const std::string& key);
  void refresh_trainable();
  // Maps each PEFT file key of adapter `name` to its live tensor.
  std::vector<std::pair<std::string, torch::Tensor>> file_keys(const std::string& name);

  std::shared_ptr<torch::nn::Module> root_;
  std::map<std::string, Adapter> adapters_;
  std::map<std::string, torch::Tensor> base_values_;  // owned base tensors as the base model has them
  std::string active_;
  FileNamesFor file_names_for_;  // unset: files use the root's own names
  std::string model_type_ = "bert";
  std::set<std::string> fixed_;  // parameters the model had frozen before any adapter
};

}  // namespace attune::peft
