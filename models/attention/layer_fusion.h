// Cross-layer attention fusion: each position's output is a softmax-weighted mix of its
// hidden states in every layer, the weights scored by a learned query (plus a learned
// per-layer bias) against each layer's state, instead of the last layer alone.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace attune::models {

struct CrossLayerFusionOptions {
  CrossLayerFusionOptions(int64_t hidden_size, int64_t num_layers) : hidden_size_(hidden_size), num_layers_(num_layers) {}
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, num_layers);
};

class CrossLayerFusionImpl : public torch::nn::Module {
 public:
  explicit CrossLayerFusionImpl(const CrossLayerFusionOptions& options);
  // layers: num_layers tensors (B,T,H), first layer first. Returns (B,T,H); weights, if
  // given, receives the (B,T,L) mixing weights.
  torch::Tensor forward(const std::vector<torch::Tensor>& layers, torch::Tensor* weights = nullptr);
  const CrossLayerFusionOptions& options() const { return options_; }

  torch::Tensor query;       // (H), zero at start
  torch::Tensor layer_bias;  // (L)

 private:
  CrossLayerFusionOptions options_;
};
TORCH_MODULE(CrossLayerFusion);

}  // namespace attune::models
