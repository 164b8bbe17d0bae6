#include "models/deberta/deberta.h"

#include "core/error.h"
#include "models/common/init.h"
#include "models/common/norm.h"
#include "models/deberta/model_config.h"
#include "models/deberta/relative_position.h"

namespace attune::models {

DebertaV2EmbeddingsImpl::DebertaV2EmbeddingsImpl(const DebertaV2Options& o) {
  const int64_t e = deberta_embedding_width(o);
  word_embeddings = register_module(
      "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size(), e).padding_idx(o.pad_token_id())));
  if (o.position_biased_input()) {
    position_embeddings = register_module("position_embeddings", torch::nn::Embedding(o.max_position_embeddings(), e));
  }
  if (o.type_vocab_size() > 0) {
    token_type_embeddings = register_module("token_type_embeddings", torch::nn::Embedding(o.type_vocab_size(), e));
  }
  if (e != o.hidden_size()) {
    embed_proj = register_module("embed_proj", Linear(torch::nn::LinearOptions(e, o.hidden_size()).bias(false)));
  }
  layer_norm = register_module(
      "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size()}).eps(o.layer_norm_eps())));
  dropout = register_module("dropout", torch::nn::Dropout(o.hidden_dropout_prob()));
}

torch::Tensor DebertaV2EmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                               const torch::Tensor& mask) {
  // transformers' order: words, then positions, then token types.
  torch::Tensor sum = word_embeddings->forward(input_ids);
  if (position_embeddings) {
    sum = sum + position_embeddings->forward(
                    torch::arange(input_ids.size(1), input_ids.options().dtype(torch::kLong)).unsqueeze(0));
  }
  if (token_type_embeddings) {
    sum = sum + token_type_embeddings->forward(token_type_ids.defined() ? token_type_ids : torch::zeros_like(input_ids));
  }
  if (embed_proj) sum = embed_proj->forward(sum);
  torch::Tensor out = into_stream(layer_norm->forward(sum));
  // Padded positions enter the encoder as zeros.
  if (mask.defined()) out = out * mask.unsqueeze(2).to(out.scalar_type());
  return dropout->forward(out);
}

DebertaV2EncoderImpl::DebertaV2EncoderImpl(const DebertaV2Options& o)
    : relative_attention_(o.relative_attention()),
      position_buckets_(o.position_buckets()),
      relative_span_(deberta_relative_span(o)) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_hidden_layers(); ++i) {
    DebertaV2Layer block(o);
    layer->push_back(block);
    layers_.push_back(block);
  }
  if (relative_attention_) {
    rel_embeddings =
        register_module("rel_embeddings", torch::nn::Embedding(2 * deberta_position_embedding_size(o), o.hidden_size()));
  }
  // Built whenever norm_rel_ebd asks for it, used only with relative attention (as transformers).
  if (deberta_norm_rel_ebd_layer_norm(o)) {
    layer_norm = register_module(
        "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size()}).eps(o.layer_norm_eps())));
  }
}

torch::Tensor DebertaV2EncoderImpl::rel_embedding() {
  if (!relative_attention_) return {};
  const torch::Tensor table = rel_embeddings->weight;
  return layer_norm ? models::layer_norm(layer_norm, table) : table;
}

torch::Tensor DebertaV2EncoderImpl::forward(torch::Tensor hidden, const torch::Tensor& attention_mask,
                                            std::vector<torch::Tensor>* attentions) {
  const int64_t length = hidden.size(1);
  torch::Tensor allowed;
  if (attention_mask.defined()) {
    // get_attention_mask: a pair (query, key) is allowed only when both are real tokens.
    const torch::Tensor real = attention_mask.ne(0);
    allowed = real.unsqueeze(1).unsqueeze(2).logical_and(real.unsqueeze(1).unsqueeze(3));  // (B,1,T,T)
  }
  torch::Tensor relative_pos, rel_table;
  if (relative_attention_) {
    relative_pos = build_relative_position(length, length, position_buckets_, relative_span_, hidden.device());
    rel_table = rel_embedding();
  }
  for (auto& block : layers_) {
    torch::Tensor probs;
    hidden = block->forward(hidden, allowed, relative_pos, rel_table, attentions != nullptr ? &probs : nullptr);
    if (attentions != nullptr) attentions->push_back(probs);
  }
  return hidden;
}

DebertaV2ContextPoolerImpl::DebertaV2ContextPoolerImpl(const DebertaV2Options& o)
    : activation_(parse_activation(o.pooler_hidden_act(), "pooler_hidden_act")) {
  dense = register_module("dense", Linear(o.hidden_size(), o.hidden_size()));
  dropout = register_module("dropout", torch::nn::Dropout(o.pooler_dropout()));
}

torch::Tensor DebertaV2ContextPoolerImpl::forward(const torch::Tensor& hidden) {
  return apply_activation(activation_, dense->forward(dropout->forward(hidden.select(1, 0))));
}

DebertaV2ModelImpl::DebertaV2ModelImpl(const DebertaV2Options& options, std::string preset)
    : options_(options), preset_(std::move(preset)) {
  check_deberta_options(options_, "DebertaV2Options");
  embeddings = register_module("embeddings", DebertaV2Embeddings(options_));
  encoder = register_module("encoder", DebertaV2Encoder(options_));
  if (options_.add_pooling_layer()) pooler = register_module("pooler", DebertaV2ContextPooler(options_));
  init_weights();
}

void DebertaV2ModelImpl::init_weights() {
  // As transformers' DebertaV2PreTrainedModel._init_weights.
  init_bert_lineage_weights(*this, options_.initializer_range());
}

EncoderOutput DebertaV2ModelImpl::encode(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                         const torch::Tensor& attention_mask, bool output_attentions,
                                         const torch::Tensor& context) {
  TORCH_CHECK(!context.defined(), "DebertaV2Model: takes no context (context_size is 0)");
  TORCH_CHECK(input_ids.dim() == 2, "DebertaV2Model: input_ids must be (batch, length), got ", input_ids.sizes());
  TORCH_CHECK(!token_type_ids.defined() || token_type_ids.sizes() == input_ids.sizes(),
              "DebertaV2Model: token_type_ids ", token_type_ids.sizes(), " must match input_ids ", input_ids.sizes());
  TORCH_CHECK(!attention_mask.defined() || attention_mask.sizes() == input_ids.sizes(),
              "DebertaV2Model: attention_mask ", attention_mask.sizes(), " must match input_ids ", input_ids.sizes());
  // Relative positions are clamped or bucketed at any length; absolute ones have a table.
  TORCH_CHECK(!options_.position_biased_input() || input_ids.size(1) <= options_.max_position_embeddings(),
              "DebertaV2Model: sequence length ", input_ids.size(1), " exceeds max_position_embeddings ",
              options_.max_position_embeddings(), "; truncate the input or build the model with a larger max length");
  EncoderOutput out;
  const torch::Tensor embedded = embeddings->forward(input_ids, token_type_ids, attention_mask);
  out.hidden = encoder->forward(embedded, attention_mask, output_attentions ? &out.attentions : nullptr);
  if (pooler) out.pooled = pooler->forward(out.hidden);
  return out;
}

nlohmann::json DebertaV2ModelImpl::config() const { return deberta_model_config(options_, preset_); }

}  // namespace attune::models
