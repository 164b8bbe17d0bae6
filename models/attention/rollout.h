// Attention rollout (Abnar and Zuidema 2020): how much each input position flows into
// each output position through all layers, with the residual connection counted.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace attune::models {

// layers: one (heads, T, T) attention per layer, first layer first. Each becomes
// residual * I + (1 - residual) * mean over heads, rows renormalised; the result is
// their product, last layer leftmost: (T, T), row t = the input mix of output t.
torch::Tensor attention_rollout(const std::vector<torch::Tensor>& layers, double residual = 0.5);

}  // namespace attune::models
