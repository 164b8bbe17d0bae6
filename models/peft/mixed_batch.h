// Many PEFT adapters on one base model in one forward pass, for serving: every row of a
// batch names its adapter (or none), the base projections run once for the whole batch,
// and each adapter's update applies to its own rows only (LoRA/rsLoRA: a low-rank
// product of the gathered rows, index_add-ed back; IA3: its scales on its rows; a
// modules_to_save layer such as the classifier head: its own weights on its rows).
//
// PeftModel (peft_model.h) switches one active adapter by copying tensors into the
// model, which cannot mix adapters in a batch or change while a forward runs. Here the
// adapters are immutable snapshots (ServedAdapter), read once from PEFT's files through
// a PeftModel on a scratch copy of the model (so every check of the file against the
// model is PeftModel's), and held by shared_ptr: one removed while requests still use
// it lives until they finish.
#pragma once
#include "models/common/linear.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace attune::peft {

// One adapter's change to one Linear layer.
struct LayerUpdate {
  enum class Kind { none, lora, ia3_input, ia3_output, replace };
  Kind kind = Kind::none;
  torch::Tensor a, b;          // lora: A (r, in), B (out, r)
  double scaling = 1.0;        // lora: alpha / r (rsLoRA: alpha / sqrt(r))
  torch::Tensor scale;         // ia3: (in) or (out)
  torch::Tensor weight, bias;  // replace: the adapter's own copy of the layer (bias may be undefined)
};

struct ServedAdapter {
  std::string name, dir, method;  // method: "lora" or "ia3"
  int64_t rank = 0;               // LoRA's r (0 for IA3)
  bool rslora = false;
  int64_t bytes = 0;              // memory of its tensors
  std::vector<LayerUpdate> layers;  // by MixedBatchModel layer index
  nlohmann::json extra;           // what the task adds (e.g. the adapter run's labels)
};

// A batch's rows of one adapter: rows (int64, on the model's device) index dimension 0.
struct RowGroup {
  torch::Tensor rows;
  std::shared_ptr<const ServedAdapter> adapter;
};

class MixedBatchModel {
 public:
  // Attaches the mixing layer to every Linear of root (which must have no adapters).
  explicit MixedBatchModel(std::shared_ptr<torch::nn::Module> root);
  // As PeftModel::set_file_names, for the adapter files load() reads.
  void set_file_names(std::function<std::string(const std::string&)> to_file) { to_file_ = std::move(to_file); }

  // Reads PEFT's adapter_config.json + adapter_model.safetensors from dir. scratch: a
  // fresh model of root's architecture (random weights are fine) that the adapter is
  // loaded onto and checked against, then dropped. Methods: LoRA (rsLoRA) and IA3, bias
  // "none", modules_to_save naming Linear layers. Failures are UserErrors naming the file
  // and key.
  std::shared_ptr<ServedAdapter> load(const std::string& dir, const std::string& name,
                                      const std::shared_ptr<torch::nn::Module>& scratch) const;
  // Names of the base tensors an adapter replaces (its modules_to_save layers' weight, bias).
  std::vector<std::string> replaced_tensors(const ServedAdapter& adapter) const;

  // While alive, forwards of root apply `groups` (rows not in any group run the base).
  // One batch at a time: the caller's worker thread owns the model.
  class Routing {
   public:
    Routing(MixedBatchModel& model, std::vector<RowGroup> groups);
    ~Routing();
    Routing(const Routing&) = delete;
    Routing& operator=(const Routing&) = delete;

   private:
    MixedBatchModel& model_;
  };

  const std::vector<std::string>& layer_paths() const { return paths_; }
  torch::Device device() const;

 private:
  friend class MixedLayerImpl;
  std::shared_ptr<torch::nn::Module> root_;
  std::vector<std::string> paths_;
  std::vector<models::LinearImpl*> linears_;
  std::vector<RowGroup> groups_;
  std::function<std::string(const std::string&)> to_file_;
};

}  // namespace attune::peft
