#include "tasks/engine/optimizer.h"

#include "data/error.h"

#include <cmath>

#include <algorithm>

namespace attune::engine {

std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& module, const OptimizerOptions& options) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    (p.dim() >= 2 ? decay : no_decay).push_back(p);
  }
  auto group_options = [&](double weight_decay) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(options.lr);
    o->betas({options.beta1, options.beta2}).eps(options.eps).weight_decay(weight_decay);
    return o;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, group_options(options.weight_decay));
  groups.emplace_back(no_decay, group_options(0.0));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(options.lr));
}

double linear_schedule(int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (step < warmup_steps) return static_cast<double>(step) / std::max<int64_t>(1, warmup_steps);
  return std::max(0.0, static_cast<double>(total_steps - step) / std::max<int64_t>(1, total_steps - warmup_steps));
}

Schedule parse_schedule(const std::string& name, const std::string& key) {
  if (name == "linear") return Schedule::kLinear;
  if (name == "inverse_sqrt") return Schedule::kInverseSqrt;
  if (name == "constant") return Schedule::kConstant;
  if (name == "cosine") return Schedule::kCosine;
  fail(key, "unknown schedule '" + name + "' (known: linear, inverse_sqrt, constant, cosine)");
}

double schedule_factor(Schedule schedule, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (schedule == Schedule::kLinear) return linear_schedule(step, warmup_steps, total_steps);
  if (schedule == Schedule::kCosine) {
    if (step < warmup_steps) return static_cast<double>(step) / std::max<int64_t>(1, warmup_steps);
    const double progress = static_cast<double>(step - warmup_steps) / std::max<int64_t>(1, total_steps - warmup_steps);
    return 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
  }
  // Step s (0-based) is update s+1: warm-up reaches the full rate at update warmup_steps.
  const double update = static_cast<double>(step + 1);
  if (warmup_steps > 0 && update < warmup_steps) return update / static_cast<double>(warmup_steps);
  if (schedule == Schedule::kConstant) return 1.0;
  return std::sqrt(static_cast<double>(std::max<int64_t>(1, warmup_steps)) / update);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
}

}  // namespace attune::engine
