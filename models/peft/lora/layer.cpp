#include "models/peft/lora/layer.h"

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

}  // namespace attune::peft
