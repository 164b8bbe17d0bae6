#include "models/peft/adalora/layer.h"

namespace attune::peft {

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

}  // namespace attune::peft
