#include "models/common/norm.h"

#include "core/compat.h"
#include "models/common/fusion.h"

namespace attune::models {

namespace {

// Whether activations are kept in bfloat16 in this forward.
bool bf16_stream_active() { return fusions().bf16_stream && compat::autocast_bf16_active(); }

}  // namespace

torch::Tensor layer_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  if (x.scalar_type() != torch::kBFloat16 || !x.is_cuda() || !bf16_stream_active()) return norm->forward(x);
  const auto& o = norm->options;
  return compat::layer_norm_in_dtype(x, o.normalized_shape(), norm->weight, norm->bias, o.eps());
}

OptionalBiasLayerNormImpl::OptionalBiasLayerNormImpl(int64_t size, double eps, bool bias) : size_(size), eps_(eps) {
  weight = register_parameter("weight", torch::ones({size}));
  if (bias) this->bias = register_parameter("bias", torch::zeros({size}));
}

torch::Tensor OptionalBiasLayerNormImpl::forward(const torch::Tensor& x) {
  if (x.scalar_type() == torch::kBFloat16 && x.is_cuda() && bf16_stream_active()) {
    return compat::layer_norm_in_dtype(x, {size_}, weight, bias, eps_);
  }
  return torch::layer_norm(x, {size_}, weight, bias, eps_);
}

torch::Tensor into_stream(const torch::Tensor& x) {
  return x.is_cuda() && x.is_floating_point() && bf16_stream_active() ? x.to(torch::kBFloat16) : x;
}

}  // namespace attune::models
