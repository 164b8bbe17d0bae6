// A Linear layer that PEFT methods can attach to. Parameters are "weight" (out,in) and
// "bias" (out) exactly as torch::nn::Linear, so checkpoints and Hugging Face names are
// unchanged; attached adapters are submodules registered under their adapter name.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

namespace attune::script {
class ScriptModuleBuilder;
}

namespace attune::models {

// One PEFT method's change to one Linear layer (LoRA, AdaLoRA, IA3, bottleneck adapter).
class LinearAdapterImpl : public torch::nn::Module {
 public:
  // Rewrites the layer input before the base projection (IA3 on feed-forward layers).
  virtual torch::Tensor adapt_input(const torch::Tensor& x) { return x; }
  // Whether adapt_input may change its input: such layers cannot share one GEMM with
  // their siblings (the fused query/key/value projection).
  virtual bool rewrites_input() const { return false; }
  // x: the layer input as given; y: the base projection of the (adapted) input.
  virtual torch::Tensor adapt_output(const torch::Tensor& x, const torch::Tensor& y) { return y; }
  // Whether merge() can fold the adapter into the base weight and bias.
  virtual bool mergeable() const { return false; }
  // Folds the adapter into (weight, bias) in place, or takes it back out (reverse).
  virtual void merge(torch::Tensor& weight, torch::Tensor& bias, bool reverse) {}
  // The adapted output as TorchScript (models/export): an expression of `y`, the scripted
  // base projection of the layer exported as `name`; "" when only merging can export it.
  virtual std::string script_output(script::ScriptModuleBuilder& builder, const std::string& name,
                                    const std::string& y) {
    return "";
  }
};

class LinearImpl : public torch::nn::Module {
 public:
  explicit LinearImpl(const torch::nn::LinearOptions& options);
  LinearImpl(int64_t in_features, int64_t out_features) : LinearImpl(torch::nn::LinearOptions(in_features, out_features)) {}

  torch::Tensor forward(const torch::Tensor& x);
  // The base projection `y` of `x`, computed elsewhere (one GEMM for several layers), with
  // the active adapter's output change; valid only where input_shared() is true.
  torch::Tensor adapt_projection(const torch::Tensor& x, const torch::Tensor& y);
  // True when forward(x) is the plain projection of x itself, adapted after it: no
  // active adapter rewrites the input, so the projection can be computed jointly.
  bool input_shared() const;

  // Adds an adapter under `name` (a valid module name); it is inactive until activated.
  void add_adapter(const std::string& name, std::shared_ptr<LinearAdapterImpl> adapter);
  void remove_adapter(const std::string& name);
  // "" deactivates all adapters. Unknown names are a bug (TORCH_CHECK).
  void set_active_adapter(const std::string& name);
  const std::string& active_adapter() const { return active_; }
  std::shared_ptr<LinearAdapterImpl> adapter(const std::string& name) const;
  const std::map<std::string, std::shared_ptr<LinearAdapterImpl>>& adapters() const { return adapters_; }

  // Folds the active adapter into weight/bias (forward then skips it) and back.
  void merge();
  void unmerge();
  bool merged() const { return merged_; }
  // Removes every adapter and keeps the weights as they are (merged or not).
  void drop_adapters();

  torch::nn::LinearOptions options;
  torch::Tensor weight;
  torch::Tensor bias;  // undefined without bias

 private:
  std::map<std::string, std::shared_ptr<LinearAdapterImpl>> adapters_;
  std::string active_;
  bool merged_ = false;
};
TORCH_MODULE(Linear);

}  // namespace attune::models
