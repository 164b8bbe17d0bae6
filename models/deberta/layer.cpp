#include "models/deberta/layer.h"

#include "models/common/norm.h"

namespace attune::models {

DebertaV2ResidualOutputImpl::DebertaV2ResidualOutputImpl(int64_t in_features, const DebertaV2Options& o) {
  dense = register_module("dense", Linear(in_features, o.hidden_size()));
  layer_norm = register_module(
      "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size()}).eps(o.layer_norm_eps())));
  dropout = register_module("dropout", torch::nn::Dropout(o.hidden_dropout_prob()));
}

torch::Tensor DebertaV2ResidualOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return models::layer_norm(layer_norm, dropout->forward(dense->forward(x)) + residual);
}

DebertaV2AttentionImpl::DebertaV2AttentionImpl(const DebertaV2Options& o) {
  self = register_module("self", DisentangledSelfAttention(o));
  output = register_module("output", DebertaV2ResidualOutput(o.hidden_size(), o));
}

torch::Tensor DebertaV2AttentionImpl::forward(const torch::Tensor& hidden, const torch::Tensor& allowed,
                                              const torch::Tensor& relative_pos, const torch::Tensor& rel_embeddings,
                                              torch::Tensor* probs) {
  return output->forward(self->forward(hidden, allowed, relative_pos, rel_embeddings, probs), hidden);
}

DebertaV2IntermediateImpl::DebertaV2IntermediateImpl(const DebertaV2Options& o)
    : activation_(parse_activation(o.hidden_act(), "hidden_act")) {
  dense = register_module("dense", Linear(o.hidden_size(), o.intermediate_size()));
}

torch::Tensor DebertaV2IntermediateImpl::forward(const torch::Tensor& x) {
  return apply_activation(activation_, dense->forward(x));
}

DebertaV2LayerImpl::DebertaV2LayerImpl(const DebertaV2Options& o) {
  attention = register_module("attention", DebertaV2Attention(o));
  intermediate = register_module("intermediate", DebertaV2Intermediate(o));
  output = register_module("output", DebertaV2ResidualOutput(o.intermediate_size(), o));
}

torch::Tensor DebertaV2LayerImpl::forward(const torch::Tensor& hidden, const torch::Tensor& allowed,
                                          const torch::Tensor& relative_pos, const torch::Tensor& rel_embeddings,
                                          torch::Tensor* probs) {
  const torch::Tensor attended = attention->forward(hidden, allowed, relative_pos, rel_embeddings, probs);
  return output->forward(intermediate->forward(attended), attended);
}

}  // namespace attune::models
