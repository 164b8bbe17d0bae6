// Soft attention pooling: a learned query scores every real token, the softmax of the
// scores (at a temperature) weights the tokens into one vector. An optional entropy
// term keeps the weights from collapsing onto one token or drifting to uniform.
#pragma once
#include <torch/torch.h>

namespace attune::models {

struct AttentionPoolOptions {
  TORCH_ARG(double, temperature) = 1.0;
  // Weight of (normalised entropy - entropy_target)^2 in the loss; 0 = no term.
  TORCH_ARG(double, entropy_weight) = 0.0;
  TORCH_ARG(double, entropy_target) = 0.5;
};

struct AttentionPoolOutput {
  torch::Tensor pooled;       // (B,H)
  torch::Tensor weights;      // (B,T) float32
  torch::Tensor regularizer;  // scalar, undefined without an entropy term
};

// hidden (B,T,H); real (B,T) bool (true = token) or undefined (all real); query (H).
AttentionPoolOutput attention_pool(const torch::Tensor& hidden, const torch::Tensor& real, const torch::Tensor& query,
                                   const AttentionPoolOptions& options);

}  // namespace attune::models
