// AdamW with Hugging Face's fine-tuning conventions: no weight decay on biases and
// normalisation weights (every tensor with fewer than two dimensions), and a linear
// warm-up followed by linear decay to zero.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

namespace attune::engine {

struct OptimizerOptions {
  double lr = 5e-4;
  double weight_decay = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// Only parameters with requires_grad reach the optimizer (frozen bases stay out).
std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& module, const OptimizerOptions& options);

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
