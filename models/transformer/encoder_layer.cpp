#include "models/transformer/encoder_layer.h"

#include "models/common/norm.h"

namespace attune::models {

DenseLayerNormImpl::DenseLayerNormImpl(int64_t in_features, int64_t out_features, double eps) {
  dense = register_module("dense", Linear(in_features, out_features));
  layer_norm = register_module(
      "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({out_features}).eps(eps)));
}

AttentionBlockImpl::AttentionBlockImpl(const MultiHeadAttentionOptions& attention, double eps, int64_t context_size) {
  self_attention = register_module("self", MultiHeadAttention(attention));
  output = register_module("output", DenseLayerNorm(attention.embed_dim(), attention.embed_dim(), eps));
  if (context_size > 0) {
    context = register_module("context",
                              Linear(torch::nn::LinearOptions(context_size, attention.embed_dim()).bias(false)));
    // Zero: a pre-trained encoder reads its input exactly as before until the context
    // term has learned something; no bias, so a zero context is always plain attention.
    torch::NoGradGuard no_grad;
    context->weight.zero_();
  }
}

IntermediateImpl::IntermediateImpl(int64_t hidden_size, int64_t intermediate_size) {
  dense = register_module("dense", Linear(hidden_size, intermediate_size));
}

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(const TransformerEncoderLayerOptions& options)
    : options_(options), activation_(parse_activation(options.activation(), "activation")) {
  const int64_t h = options_.hidden_size();
  TORCH_CHECK(options_.intermediate_size() > 0, "TransformerEncoderLayer: intermediate_size must be positive, got ",
              options_.intermediate_size());
  TORCH_CHECK(options_.hidden_dropout() >= 0.0 && options_.hidden_dropout() < 1.0,
              "TransformerEncoderLayer: hidden_dropout must be in [0, 1), got ", options_.hidden_dropout());
  attention = register_module(
      "attention",
      AttentionBlock(MultiHeadAttentionOptions(h, options_.num_heads()).dropout(options_.attention_dropout()),
                     options_.layer_norm_eps(), options_.context_size()));
  intermediate = register_module("intermediate", Intermediate(h, options_.intermediate_size()));
  output = register_module("output", DenseLayerNorm(options_.intermediate_size(), h, options_.layer_norm_eps()));
}

torch::Tensor TransformerEncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                                   torch::Tensor* weights, const torch::Tensor& context) {
  const double p = options_.hidden_dropout();
  const bool train = is_training();
  DenseLayerNorm& attn_out = attention->output;
  torch::Tensor shift;
  if (attention->context) {
    TORCH_CHECK(context.defined() && context.dim() == 2 && context.size(0) == x.size(0) &&
                    context.size(1) == options_.context_size(),
                "TransformerEncoderLayer: this layer reads a context of ", options_.context_size(),
                " values per example; got ", context.defined() ? context.sizes() : c10::IntArrayRef{});
    shift = attention->context->forward(context.to(x.scalar_type()));
  } else {
    TORCH_CHECK(!context.defined(), "TransformerEncoderLayer: a context was given but the layer has no context_size");
  }
  auto feed_forward = [&](const torch::Tensor& h) {
    return output->dense->forward(apply_activation(activation_, intermediate->dense->forward(h)));
  };
  if (options_.pre_layer_norm()) {
    // Pre-LN reuses the two LayerNorms of the post-LN layout: attention.output.LayerNorm
    // normalises the attention input, output.LayerNorm the feed-forward input.
    const torch::Tensor a = attention->self_attention->forward(layer_norm(attn_out->layer_norm, x), {}, mask, false, weights, shift);
    const torch::Tensor h = x + torch::dropout(attn_out->dense->forward(a), p, train);
    return h + torch::dropout(feed_forward(layer_norm(output->layer_norm, h)), p, train);
  }
  const torch::Tensor a = attention->self_attention->forward(x, {}, mask, false, weights, shift);
  const torch::Tensor h = layer_norm(attn_out->layer_norm, x + torch::dropout(attn_out->dense->forward(a), p, train));
  return layer_norm(output->layer_norm, h + torch::dropout(feed_forward(h), p, train));
}

}  // namespace attune::models
