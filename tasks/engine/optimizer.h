// AdamW with Hugging Face's fine-tuning conventions: no weight decay on biases and
// normalisation weights (every tensor with fewer than two dimensions), and a linear
// warm-up followed by linear decay to zero.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace attune::engine {

struct OptimizerOptions {
  double lr = 5e-4;
  double weight_decay = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // One multi-tensor kernel per group (LibTorch 2.x) instead of ~10 kernels per tensor.
  bool fused = true;
};

// LibTorch's AdamW whose step runs ATen's fused kernel (torch.optim.AdamW(fused=True))
// where it exists. The state stays LibTorch's AdamWParamState, so checkpoints read and
// write the same optimizer.pt either way; without the kernel it is LibTorch's own step.
class AdamW : public torch::optim::AdamW {
 public:
  AdamW(std::vector<torch::optim::OptimizerParamGroup> groups, torch::optim::AdamWOptions defaults, bool fused);
  torch::Tensor step(LossClosure closure = nullptr) override;
  bool fused() const { return fused_; }

  // The fused step split in the parts a captured CUDA graph separates (fused only):
  // with device rates, each group's rate is a device scalar that write_rates() sets from
  // the group's lr outside the graph, before every replay; update() launches the kernels
  // and is what the graph captures. update(count_on_host = false) leaves LibTorch's host
  // step counts alone, as a capture runs nothing; count_steps() advances them after a
  // replay. Both return or take the parameters that had gradients.
  void use_device_rates();
  void write_rates();
  std::vector<torch::Tensor> update(bool count_on_host);
  void count_steps(const std::vector<torch::Tensor>& params);

  // One parameter's state, as ZeRO moves its shards (tasks/engine/zero.h): null before
  // the parameter's first update.
  torch::optim::AdamWParamState* state_of(const torch::Tensor& p);
  void set_state_of(const torch::Tensor& p, std::unique_ptr<torch::optim::AdamWParamState> state);
  void drop_state_of(const torch::Tensor& p);
  // Bytes of the exp_avg and exp_avg_sq this process holds: AdamW's memory beside the model's.
  int64_t state_bytes() const;

 private:
  bool fused_;
  bool device_rates_ = false;
  std::vector<torch::Tensor> rates_;  // per group, float32 on the group's device
  // The kernel counts steps in float32 device scalars; LibTorch's state counts on the
  // host. Both advance together; a state replaced by a resume rebuilds its scalar.
  struct StepScalar {
    const torch::optim::AdamWParamState* state = nullptr;
    torch::Tensor step;
  };
  std::unordered_map<const void*, StepScalar> step_scalars_;
};

// Only parameters with requires_grad reach the optimizer (frozen bases stay out).
std::unique_ptr<AdamW> make_adamw(torch::nn::Module& module, const OptimizerOptions& options);

// Every parameter of every group, in order.
std::vector<torch::Tensor> parameters_of(const torch::optim::Optimizer& optimizer);

// The L2 norm of all the parameters' gradients together (float scalar on their device).
torch::Tensor gradient_norm(const std::vector<torch::Tensor>& params);
// Scales the gradients of `params` so that their joint L2 norm is at most max_norm, as
// torch.nn.utils.clip_grad_norm_ does, and returns that norm before clipping as a device
// scalar: nothing is read back to the host, so the step does not wait for the GPU.
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

// Learning-rate multiplier for optimizer step `step` (0-based), as
// transformers.get_linear_schedule_with_warmup computes it.
double linear_schedule(int64_t step, int64_t warmup_steps, int64_t total_steps);

enum class Schedule {
  kLinear,       // warm-up, then linear decay to zero at the last step (fine-tuning)
  kInverseSqrt,  // warm-up, then lr * sqrt(warmup / step) ("Attention Is All You Need")
  kConstant,     // warm-up, then constant
  kCosine,       // warm-up as linear, then half a cosine to zero at the last step (timm's ViT recipes)
};
// "linear", "inverse_sqrt", "constant", "cosine"; anything else fails naming `key`.
Schedule parse_schedule(const std::string& name, const std::string& key);
// The learning-rate multiplier of optimizer step `step` (0-based) under `schedule`.
double schedule_factor(Schedule schedule, int64_t step, int64_t warmup_steps, int64_t total_steps);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace attune::engine
