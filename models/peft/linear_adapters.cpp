#include "models/peft/linear_adapters.h"

#include <cmath>

namespace attune::peft {

LoraAdapterImpl::LoraAdapterImpl(int64_t in_features, int64_t out_features, const LoraOptions& options)
    : options_(options) {
  TORCH_CHECK(options.r() > 0, "LoRA: r must be positive, got ", options.r());
  scaling_ = options.use_rslora() ? options.alpha() / std::sqrt(static_cast<double>(options.r()))
                                  : options.alpha() / static_cast<double>(options.r());
  lora_A = register_module("lora_A", models::Linear(torch::nn::LinearOptions(in_features, options.r()).bias(false)));
  lora_B = register_module("lora_B", models::Linear(torch::nn::LinearOptions(options.r(), out_features).bias(false)));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5.0));
  lora_B->weight.zero_();
}

torch::Tensor LoraAdapterImpl::adapt_output(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor in = torch::dropout(x, options_.dropout(), is_training());
  return y + lora_B->forward(lora_A->forward(in.to(lora_A->weight.scalar_type()))).to(y.scalar_type()) * scaling_;
}

void LoraAdapterImpl::merge(torch::Tensor& weight, torch::Tensor& bias, bool reverse) {
  const torch::Tensor delta = torch::matmul(lora_B->weight, lora_A->weight).mul(scaling_).to(weight.scalar_type());
  reverse ? weight.sub_(delta) : weight.add_(delta);
}

AdaLoraAdapterImpl::AdaLoraAdapterImpl(int64_t in_features, int64_t out_features, int64_t init_r, double alpha,
                                       double dropout)
    : alpha_(alpha > 0 ? alpha : static_cast<double>(init_r)), dropout_(dropout), ranknum_(init_r) {
  TORCH_CHECK(init_r > 0, "AdaLoRA: init_r must be positive, got ", init_r);
  lora_A = register_parameter("lora_A", torch::empty({init_r, in_features}));
  lora_B = register_parameter("lora_B", torch::empty({out_features, init_r}));
  lora_E = register_parameter("lora_E", torch::zeros({init_r, 1}));
  torch::NoGradGuard no_grad;
  lora_A.normal_(0.0, 0.02);
  lora_B.normal_(0.0, 0.02);
}

torch::Tensor AdaLoraAdapterImpl::adapt_output(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor in = torch::dropout(x, dropout_, is_training()).to(lora_A.scalar_type());
  const torch::Tensor delta = torch::matmul(torch::matmul(in, (lora_A * lora_E).t()), lora_B.t());
  return y + (delta * (alpha_ / (static_cast<double>(ranknum_) + 1e-5))).to(y.scalar_type());
}

torch::Tensor AdaLoraAdapterImpl::delta_weight() const {
  return torch::matmul(lora_B, lora_A * lora_E) * (alpha_ / (static_cast<double>(ranknum_) + 1e-5));
}

void AdaLoraAdapterImpl::merge(torch::Tensor& weight, torch::Tensor& bias, bool reverse) {
  const torch::Tensor delta = delta_weight().to(weight.scalar_type());
  reverse ? weight.sub_(delta) : weight.add_(delta);
}

int64_t AdaLoraAdapterImpl::active_rank() const { return lora_E.ne(0).sum().item<int64_t>(); }

Ia3AdapterImpl::Ia3AdapterImpl(int64_t in_features, int64_t out_features, bool feedforward)
    : feedforward_(feedforward) {
  ia3_l = register_parameter("ia3_l", feedforward ? torch::ones({1, in_features}) : torch::ones({out_features, 1}));
}

torch::Tensor Ia3AdapterImpl::adapt_input(const torch::Tensor& x) {
  return feedforward_ ? x * ia3_l.flatten().to(x.scalar_type()) : x;
}

torch::Tensor Ia3AdapterImpl::adapt_output(const torch::Tensor& x, const torch::Tensor& y) {
  return feedforward_ ? y : y * ia3_l.flatten().to(y.scalar_type());
}

void Ia3AdapterImpl::merge(torch::Tensor& weight, torch::Tensor& bias, bool reverse) {
  // Unmerging divides, as PEFT does, with its small guard against zero scales.
  const torch::Tensor l = ia3_l.to(weight.scalar_type());
  const torch::Tensor scale = reverse ? 1.0 / (l + 1e-8) : l;
  // (out,in) * (1,in) scales input columns; (out,in) * (out,1) scales output rows,
  // and then the bias too, since the scale applies after it.
  weight.mul_(scale);
  if (!feedforward_ && bias.defined()) bias.mul_(scale.flatten());
}

BottleneckAdapterImpl::BottleneckAdapterImpl(int64_t features, int64_t bottleneck, models::Activation activation)
    : activation_(activation) {
  TORCH_CHECK(bottleneck > 0, "bottleneck adapter: size must be positive, got ", bottleneck);
  down = register_module("down", models::Linear(features, bottleneck));
  up = register_module("up", models::Linear(bottleneck, features));
  torch::NoGradGuard no_grad;
  down->weight.normal_(0.0, 0.02);
  down->bias.zero_();
  up->weight.zero_();
  up->bias.zero_();
}

torch::Tensor BottleneckAdapterImpl::adapt_output(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor h = y.to(down->weight.scalar_type());
  return y + up->forward(models::apply_activation(activation_, down->forward(h))).to(y.scalar_type());
}

}  // namespace attune::peft
