// One DeBERTa-v2 encoder layer ("encoder.layer.N"): disentangled attention, then the
// post-LN feed-forward block, with transformers' module names (attention.self,
// attention.output, intermediate, output).
#pragma once
#include "models/common/linear.h"
#include "models/deberta/disentangled_attention.h"
#include "models/deberta/options.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

namespace attune::models {

// LayerNorm(dropout(dense(x)) + residual): transformers' DebertaV2SelfOutput
// ("attention.output", in = hidden) and DebertaV2Output ("output", in = intermediate).
class DebertaV2ResidualOutputImpl : public torch::nn::Module {
 public:
  DebertaV2ResidualOutputImpl(int64_t in_features, const DebertaV2Options& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

  Linear dense{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};  // registered as "LayerNorm"
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(DebertaV2ResidualOutput);

class DebertaV2AttentionImpl : public torch::nn::Module {
 public:
  explicit DebertaV2AttentionImpl(const DebertaV2Options& options);
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& allowed, const torch::Tensor& relative_pos,
                        const torch::Tensor& rel_embeddings, torch::Tensor* probs);

  DisentangledSelfAttention self{nullptr};  // registered as "self"
  DebertaV2ResidualOutput output{nullptr};
};
TORCH_MODULE(DebertaV2Attention);

// activation(dense(x)): DebertaV2Intermediate.
class DebertaV2IntermediateImpl : public torch::nn::Module {
 public:
  explicit DebertaV2IntermediateImpl(const DebertaV2Options& options);
  torch::Tensor forward(const torch::Tensor& x);
  Activation activation() const { return activation_; }

  Linear dense{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(DebertaV2Intermediate);

class DebertaV2LayerImpl : public torch::nn::Module {
 public:
  explicit DebertaV2LayerImpl(const DebertaV2Options& options);
  // As DisentangledSelfAttention::forward; probs receives the layer's attention probabilities.
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& allowed, const torch::Tensor& relative_pos,
                        const torch::Tensor& rel_embeddings, torch::Tensor* probs = nullptr);

  DebertaV2Attention attention{nullptr};
  DebertaV2Intermediate intermediate{nullptr};
  DebertaV2ResidualOutput output{nullptr};
};
TORCH_MODULE(DebertaV2Layer);

}  // namespace attune::models
