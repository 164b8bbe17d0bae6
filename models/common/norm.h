// LayerNorm calls that know about the bfloat16 residual stream (models/common/fusion.h):
// under CUDA bf16 autocast, with fusions().bf16_stream on, a LayerNorm of a bf16 input
// returns bf16, so the residual sums, dropout and the next GEMM's input stay bf16 instead
// of autocast's float32 LayerNorm output and the cast back before every GEMM.
#pragma once
#include <torch/torch.h>

namespace attune::models {

// norm(x), in x's dtype when the bf16 stream is active and x is bf16; else as norm->forward.
torch::Tensor layer_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x);
// x entering the residual stream (embeddings' output): bf16 when the stream is active.
torch::Tensor into_stream(const torch::Tensor& x);

// nn.LayerNorm(size, eps, bias=...) with torch::nn::LayerNorm's parameter names ("weight",
// and "bias" only when it has one): ModernBERT's norm_bias false. LibTorch 1.13's
// LayerNormOptions cannot drop the bias. Follows the bf16 stream as layer_norm() above.
class OptionalBiasLayerNormImpl : public torch::nn::Module {
 public:
  OptionalBiasLayerNormImpl(int64_t size, double eps, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t size() const { return size_; }
  double eps() const { return eps_; }
  torch::Tensor weight;
  torch::Tensor bias;  // undefined without bias

 private:
  int64_t size_;
  double eps_;
};
TORCH_MODULE(OptionalBiasLayerNorm);

}  // namespace attune::models
