#include "tasks/engine/optimizer.h"

#include "core/error.h"
#include "core/compat.h"

#include <cmath>
#include <sstream>
#include <type_traits>

#include <algorithm>

namespace attune::engine {
namespace {

// The optimizer's state is keyed by the parameter's TensorImpl: printed as a string in
// LibTorch 1.13 (as c10::guts::to_string does), the pointer itself in later versions.
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return static_cast<typename Map::key_type>(p.unsafeGetTensorImpl());
  }
}

}  // namespace

AdamW::AdamW(std::vector<torch::optim::OptimizerParamGroup> groups, torch::optim::AdamWOptions defaults, bool fused)
    : torch::optim::AdamW(std::move(groups), std::move(defaults)), fused_(fused && compat::kHasFusedAdamW) {}

torch::Tensor AdamW::step(LossClosure closure) {
  if (!fused_) return torch::optim::AdamW::step(std::move(closure));
  TORCH_CHECK(!closure, "AdamW: the fused step takes no closure");
  if (device_rates_) write_rates();
  update(/*count_on_host=*/true);
  return {};
}

void AdamW::use_device_rates() {
  TORCH_CHECK(fused_, "AdamW: device rates need the fused step");
  device_rates_ = true;
}

void AdamW::write_rates() {
  rates_.resize(param_groups().size());
  for (size_t g = 0; g < param_groups().size(); ++g) {
    const auto& group = param_groups()[g];
    if (group.params().empty()) continue;
    if (!rates_[g].defined()) {
      rates_[g] = torch::empty({}, torch::TensorOptions().dtype(torch::kFloat).device(group.params().front().device()));
    }
    rates_[g].fill_(static_cast<const torch::optim::AdamWOptions&>(group.options()).lr());
  }
}

std::vector<torch::Tensor> AdamW::update(bool count_on_host) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> updated;
  for (size_t g = 0; g < param_groups().size(); ++g) {
    auto& group = param_groups()[g];
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    TORCH_CHECK(!o.amsgrad(), "AdamW: the fused step has no amsgrad");
    // The kernel wants one dtype and device per call; the engine's groups have one each.
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "AdamW does not support sparse gradients");
      auto& slot = state_[state_key(state_, p)];
      StepScalar& scalar = step_scalars_[p.unsafeGetTensorImpl()];
      // A capture must find the state in place: tensors made during it would be reset
      // to their first values by every replay.
      TORCH_CHECK(count_on_host || (slot && scalar.state == static_cast<const torch::optim::AdamWParamState*>(slot.get())),
                  "AdamW: a captured step needs the optimizer state of an earlier eager step");
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*slot);
      if (scalar.state != &state) {
        scalar.state = &state;
        scalar.step = torch::full({}, static_cast<double>(state.step()),
                                  torch::TensorOptions().dtype(torch::kFloat).device(p.device()));
      }
      if (count_on_host) state.step(state.step() + 1);
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(state.exp_avg());
      exp_avg_sqs.push_back(state.exp_avg_sq());
      steps.push_back(scalar.step);
    }
    if (params.empty()) continue;
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    if (device_rates_) {
      TORCH_CHECK(g < rates_.size() && rates_[g].defined(), "AdamW: write_rates() before update()");
      compat::fused_adamw(params, grads, exp_avgs, exp_avg_sqs, steps, rates_[g], beta1, beta2, o.weight_decay(), o.eps());
    } else {
      compat::fused_adamw(params, grads, exp_avgs, exp_avg_sqs, steps, o.lr(), beta1, beta2, o.weight_decay(), o.eps());
    }
    updated.insert(updated.end(), params.begin(), params.end());
  }
  return updated;
}

void AdamW::count_steps(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params) {
    auto& state = static_cast<torch::optim::AdamWParamState&>(*state_.at(state_key(state_, p)));
    state.step(state.step() + 1);
  }
}

torch::optim::AdamWParamState* AdamW::state_of(const torch::Tensor& p) {
  const auto found = state_.find(state_key(state_, p));
  return found == state_.end() ? nullptr : static_cast<torch::optim::AdamWParamState*>(found->second.get());
}

void AdamW::set_state_of(const torch::Tensor& p, std::unique_ptr<torch::optim::AdamWParamState> state) {
  state_[state_key(state_, p)] = std::move(state);
}

void AdamW::drop_state_of(const torch::Tensor& p) {
  state_.erase(state_key(state_, p));
  // A later state of this parameter may reuse the freed address: its scalar must not match.
  step_scalars_.erase(p.unsafeGetTensorImpl());
}

int64_t AdamW::state_bytes() const {
  int64_t bytes = 0;
  for (const auto& [key, slot] : state_) {
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*slot);
    for (const torch::Tensor& t : {s.exp_avg(), s.exp_avg_sq(), s.max_exp_avg_sq()}) {
      if (t.defined()) bytes += static_cast<int64_t>(t.nbytes());
    }
  }
  return bytes;
}

std::vector<torch::Tensor> parameters_of(const torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> params;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& p : group.params()) params.push_back(p);
  }
  return params;
}

namespace {

std::vector<torch::Tensor> gradients_of(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  return grads;
}

torch::Tensor norm_of(const std::vector<torch::Tensor>& grads) {
  torch::NoGradGuard no_grad;
  return torch::stack(at::_foreach_norm(grads, 2)).to(torch::kFloat).norm();
}

}  // namespace

torch::Tensor gradient_norm(const std::vector<torch::Tensor>& params) {
  const std::vector<torch::Tensor> grads = gradients_of(params);
  return grads.empty() ? torch::zeros({}) : norm_of(grads);
}

torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  const std::vector<torch::Tensor> grads = gradients_of(params);
  if (grads.empty()) return torch::zeros({});
  torch::NoGradGuard no_grad;
  const torch::Tensor total = norm_of(grads);
  // 1e-6 and the clamp are torch.nn.utils.clip_grad_norm_'s, so the two clip alike.
  const torch::Tensor factor = (max_norm / (total + 1e-6)).clamp_max(1.0);
  compat::foreach_mul_(grads, factor);
  return total;
}

std::unique_ptr<AdamW> make_adamw(torch::nn::Module& module, const OptimizerOptions& options) {
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
  return std::make_unique<AdamW>(std::move(groups), torch::optim::AdamWOptions(options.lr), options.fused);
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
