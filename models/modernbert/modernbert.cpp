#include "models/modernbert/modernbert.h"

#include "models/attention/attention.h"
#include "models/modernbert/model_config.h"

#include <cmath>

namespace attune::models {
namespace {

// nn.init.trunc_normal_(t, 0, std, -cutoff * std, cutoff * std), by the inverse CDF as PyTorch does.
void truncated_normal(torch::Tensor& t, double std, double cutoff) {
  const auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
  torch::NoGradGuard no_grad;
  t.uniform_(2.0 * cdf(-cutoff) - 1.0, 2.0 * cdf(cutoff) - 1.0).erfinv_().mul_(std * std::sqrt(2.0));
  t.clamp_(-cutoff * std, cutoff * std);
}

void init_linear(LinearImpl& linear, double std, double cutoff) {
  truncated_normal(linear.weight, std, cutoff);
  if (linear.bias.defined()) {
    torch::NoGradGuard no_grad;
    linear.bias.zero_();
  }
}

Linear linear(int64_t in, int64_t out, bool bias) { return Linear(torch::nn::LinearOptions(in, out).bias(bias)); }

OptionalBiasLayerNorm norm_of(const ModernBertOptions& o) {
  return OptionalBiasLayerNorm(o.hidden_size(), o.norm_eps(), o.norm_bias());
}

}  // namespace

ModernBertEmbeddingsImpl::ModernBertEmbeddingsImpl(const ModernBertOptions& o) {
  tok_embeddings = register_module(
      "tok_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size(), o.hidden_size()).padding_idx(o.pad_token_id())));
  norm = register_module("norm", norm_of(o));
  drop = register_module("drop", torch::nn::Dropout(o.embedding_dropout()));
}

torch::Tensor ModernBertEmbeddingsImpl::forward(const torch::Tensor& input_ids) {
  return drop->forward(into_stream(norm->forward(tok_embeddings->forward(input_ids))));
}

ModernBertAttentionImpl::ModernBertAttentionImpl(const ModernBertOptions& o, int64_t layer_index)
    : heads_(o.num_attention_heads()),
      dropout_(o.attention_dropout()),
      global_(modernbert_global_layer(o, layer_index)) {
  Wqkv = register_module("Wqkv", linear(o.hidden_size(), 3 * o.hidden_size(), o.attention_bias()));
  Wo = register_module("Wo", linear(o.hidden_size(), o.hidden_size(), o.attention_bias()));
}

torch::Tensor ModernBertAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                               const RotaryTables& rotary, torch::Tensor* weights) {
  const int64_t b = x.size(0), t = x.size(1), h = x.size(2), d = h / heads_;
  // (B,T,3,heads,D) -> three (B,heads,T,D), the layout of HF's qkv.view(bs, -1, 3, heads, d).
  const torch::Tensor qkv = Wqkv->forward(x).view({b, t, 3, heads_, d}).permute({2, 0, 3, 1, 4});
  // Cast to the projections' dtype (bf16 under autocast); a no-op in float32.
  const RotaryTables tables{rotary.cos.to(qkv.scalar_type()), rotary.sin.to(qkv.scalar_type())};
  const torch::Tensor q = apply_rotary(qkv[0], tables);
  const torch::Tensor k = apply_rotary(qkv[1], tables);
  torch::Tensor out = attend(q, k, qkv[2], mask, /*causal=*/false, dropout_, is_training(), weights);
  out = out.transpose(1, 2).reshape({b, t, h});
  out = Wo->forward(out);
  if (dropout_ > 0.0) out = torch::dropout(out, dropout_, is_training());
  return out;
}

ModernBertMlpImpl::ModernBertMlpImpl(const ModernBertOptions& o)
    : activation_(parse_activation(o.hidden_activation(), "model.activation")) {
  Wi = register_module("Wi", linear(o.hidden_size(), 2 * o.intermediate_size(), o.mlp_bias()));
  Wo = register_module("Wo", linear(o.intermediate_size(), o.hidden_size(), o.mlp_bias()));
  drop_ = register_module("drop", torch::nn::Dropout(o.mlp_dropout()));
}

torch::Tensor ModernBertMlpImpl::forward(const torch::Tensor& x) {
  const std::vector<torch::Tensor> halves = Wi->forward(x).chunk(2, -1);
  return Wo->forward(drop_->forward(apply_activation(activation_, halves[0]) * halves[1]));
}

ModernBertLayerImpl::ModernBertLayerImpl(const ModernBertOptions& o, int64_t index) {
  if (index > 0) attn_norm = register_module("attn_norm", norm_of(o));
  attn = register_module("attn", ModernBertAttention(o, index));
  mlp_norm = register_module("mlp_norm", norm_of(o));
  mlp = register_module("mlp", ModernBertMlp(o));
}

torch::Tensor ModernBertLayerImpl::forward(const torch::Tensor& x, const ModernBertAttentionInputs& inputs,
                                           torch::Tensor* weights) {
  const torch::Tensor normed = attn_norm ? attn_norm->forward(x) : x;
  const bool global = attn->global();
  torch::Tensor h = x + attn->forward(normed, global ? inputs.global_mask : inputs.local_mask,
                                      global ? inputs.global_rotary : inputs.local_rotary, weights);
  return h + mlp->forward(mlp_norm->forward(h));
}

ModernBertHeadImpl::ModernBertHeadImpl(const ModernBertOptions& o)
    : activation_(parse_activation(o.classifier_activation(), "model.head_activation")) {
  dense = register_module("dense", linear(o.hidden_size(), o.hidden_size(), o.classifier_bias()));
  norm = register_module("norm", norm_of(o));
}

torch::Tensor ModernBertHeadImpl::forward(const torch::Tensor& x) {
  return norm->forward(apply_activation(activation_, dense->forward(x)));
}

ModernBertModelImpl::ModernBertModelImpl(const ModernBertOptions& options, std::string preset)
    : options_(options), preset_(std::move(preset)) {
  check_modernbert_options(options_, "model");
  embeddings = register_module("embeddings", ModernBertEmbeddings(options_));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.num_hidden_layers(); ++i) {
    ModernBertLayer layer(options_, i);
    layers->push_back(layer);
    layers_.push_back(layer);
  }
  final_norm = register_module("final_norm", norm_of(options_));
  if (options_.add_head()) head = register_module("head", ModernBertHead(options_));
  init_weights();
}

void ModernBertModelImpl::init_weights() {
  // ModernBertPreTrainedModel._init_weights: "in" projections at initializer_range, "out"
  // projections (and the head) scaled down by sqrt(2 * layers); norms at one and zero.
  const double cutoff = options_.initializer_cutoff_factor();
  const double in = options_.initializer_range();
  const double out = in / std::sqrt(2.0 * static_cast<double>(options_.num_hidden_layers()));
  truncated_normal(embeddings->tok_embeddings->weight, in, cutoff);
  for (auto& layer : layers_) {
    init_linear(*layer->attn->Wqkv, in, cutoff);
    init_linear(*layer->attn->Wo, out, cutoff);
    init_linear(*layer->mlp->Wi, in, cutoff);
    init_linear(*layer->mlp->Wo, out, cutoff);
  }
  if (head) init_linear(*head->dense, out, cutoff);
}

torch::Tensor ModernBertModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                           std::vector<torch::Tensor>* attentions) {
  const int64_t t = input_ids.size(1);
  TORCH_CHECK(t <= options_.max_position_embeddings(), "input of ", t, " tokens is longer than max_position_embeddings ",
              options_.max_position_embeddings(), "; truncate the input");
  ModernBertAttentionInputs inputs;
  inputs.global_mask = attention_mask.defined() ? padding_mask(attention_mask) : torch::Tensor();
  // Local layers: |query - key| <= local_attention / 2, as _update_attention_mask.
  const torch::Tensor positions = torch::arange(t, input_ids.options().dtype(torch::kLong));
  inputs.local_mask =
      (positions.unsqueeze(0) - positions.unsqueeze(1)).abs().le(options_.local_attention() / 2).view({1, 1, t, t});
  if (inputs.global_mask.defined()) inputs.local_mask = inputs.local_mask.logical_and(inputs.global_mask);
  // Once per forward for each layer kind, as transformers' ModernBertRotaryEmbedding.
  const int64_t head_dim = options_.hidden_size() / options_.num_attention_heads();
  inputs.global_rotary = rotary_tables(t, head_dim, options_.global_rope_theta(), input_ids.device(), torch::kFloat);
  inputs.local_rotary = rotary_tables(t, head_dim, options_.local_rope_theta(), input_ids.device(), torch::kFloat);
  torch::Tensor hidden = embeddings->forward(input_ids);
  for (auto& layer : layers_) {
    torch::Tensor weights;
    hidden = layer->forward(hidden, inputs, attentions ? &weights : nullptr);
    if (attentions) attentions->push_back(weights);
  }
  return final_norm->forward(hidden);
}

EncoderOutput ModernBertModelImpl::encode(const torch::Tensor& input_ids, const torch::Tensor& /*token_type_ids*/,
                                          const torch::Tensor& attention_mask, bool output_attentions,
                                          const torch::Tensor& context) {
  TORCH_CHECK(!context.defined(), "ModernBERT takes no context columns");
  EncoderOutput out;
  out.hidden = forward(input_ids, attention_mask, output_attentions ? &out.attentions : nullptr);
  if (head) {
    torch::Tensor pooled;
    if (options_.classifier_pooling() == "cls") {
      pooled = out.hidden.select(1, 0);
    } else {
      const torch::Tensor real =
          (attention_mask.defined() ? attention_mask : torch::ones_like(input_ids)).unsqueeze(-1).to(out.hidden.dtype());
      pooled = (out.hidden * real).sum(1) / real.sum(1);
    }
    out.pooled = head->forward(pooled);
  }
  return out;
}

nlohmann::json ModernBertModelImpl::config() const { return modernbert_model_config(options_, preset_); }

}  // namespace attune::models
