#include "models/seq2seq/layers.h"

namespace attune::models {
namespace {

torch::nn::LayerNorm layer_norm(const Seq2SeqOptions& o) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model()}).eps(o.layer_norm_eps()));
}

// The residual step both layouts share: post-LN normalises the sum, pre-LN the input.
template <typename Sublayer>
torch::Tensor residual(const torch::Tensor& x, torch::nn::LayerNorm& norm, bool pre_ln, double p, bool train,
                       Sublayer&& sublayer) {
  if (pre_ln) return x + torch::dropout(sublayer(norm->forward(x)), p, train);
  return norm->forward(x + torch::dropout(sublayer(x), p, train));
}

}  // namespace

Seq2SeqEncoderLayerImpl::Seq2SeqEncoderLayerImpl(const Seq2SeqOptions& options)
    : options_(options), activation_(parse_activation(options.activation(), "model.activation")) {
  const int64_t d = options.d_model();
  self_attn = register_module("self_attn", Seq2SeqAttention(d, options.num_heads(), options.attention_dropout()));
  self_attn_layer_norm = register_module("self_attn_layer_norm", layer_norm(options));
  fc1 = register_module("fc1", Linear(d, options.ffn_dim()));
  fc2 = register_module("fc2", Linear(options.ffn_dim(), d));
  final_layer_norm = register_module("final_layer_norm", layer_norm(options));
}

torch::Tensor Seq2SeqEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                               torch::Tensor* weights) {
  const bool pre = options_.pre_layer_norm(), train = is_training();
  const double p = options_.dropout();
  torch::Tensor h = residual(x, self_attn_layer_norm, pre, p, train, [&](const torch::Tensor& in) {
    return self_attn->forward(in, {}, mask, false, nullptr, weights);
  });
  return residual(h, final_layer_norm, pre, p, train, [&](const torch::Tensor& in) {
    const torch::Tensor a = apply_activation(activation_, fc1->forward(in));
    return fc2->forward(torch::dropout(a, options_.activation_dropout(), train));
  });
}

Seq2SeqDecoderLayerImpl::Seq2SeqDecoderLayerImpl(const Seq2SeqOptions& options)
    : options_(options), activation_(parse_activation(options.activation(), "model.activation")) {
  const int64_t d = options.d_model();
  self_attn = register_module("self_attn", Seq2SeqAttention(d, options.num_heads(), options.attention_dropout()));
  self_attn_layer_norm = register_module("self_attn_layer_norm", layer_norm(options));
  encoder_attn = register_module("encoder_attn", Seq2SeqAttention(d, options.num_heads(), options.attention_dropout()));
  encoder_attn_layer_norm = register_module("encoder_attn_layer_norm", layer_norm(options));
  fc1 = register_module("fc1", Linear(d, options.ffn_dim()));
  fc2 = register_module("fc2", Linear(options.ffn_dim(), d));
  final_layer_norm = register_module("final_layer_norm", layer_norm(options));
}

torch::Tensor Seq2SeqDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& memory,
                                               const torch::Tensor& memory_mask, DecoderLayerCache* cache,
                                               torch::Tensor* cross_weights) {
  const bool pre = options_.pre_layer_norm(), train = is_training();
  const double p = options_.dropout();
  torch::Tensor h = residual(x, self_attn_layer_norm, pre, p, train, [&](const torch::Tensor& in) {
    return self_attn->forward(in, {}, {}, /*causal=*/true, cache ? &cache->self_attention : nullptr);
  });
  h = residual(h, encoder_attn_layer_norm, pre, p, train, [&](const torch::Tensor& in) {
    return encoder_attn->forward(in, memory, memory_mask, false, cache ? &cache->cross_attention : nullptr,
                                 cross_weights);
  });
  return residual(h, final_layer_norm, pre, p, train, [&](const torch::Tensor& in) {
    const torch::Tensor a = apply_activation(activation_, fc1->forward(in));
    return fc2->forward(torch::dropout(a, options_.activation_dropout(), train));
  });
}

}  // namespace attune::models
