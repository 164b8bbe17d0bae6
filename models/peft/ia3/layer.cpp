#include "models/peft/ia3/layer.h"

namespace attune::peft {

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

}  // namespace attune::peft
