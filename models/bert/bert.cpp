#include "models/bert/bert.h"

#include "models/bert/hf_names.h"
#include "models/bert/model_config.h"
#include "models/common/init.h"
#include "models/common/norm.h"

namespace attune::models {

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertOptions& o)
    : positions_from_padding_(o.positions_from_padding()), pad_token_id_(o.pad_token_id()) {
  const int64_t e = embedding_width(o);
  word_embeddings = register_module(
      "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size(), e).padding_idx(o.pad_token_id())));
  // RoBERTa's position table has the pad row as padding_idx too (its gradient stays zero).
  torch::nn::EmbeddingOptions positions(o.max_position_embeddings(), e);
  if (o.positions_from_padding()) positions.padding_idx(o.pad_token_id());
  position_embeddings = register_module("position_embeddings", torch::nn::Embedding(positions));
  if (o.type_vocab_size() > 0) {
    token_type_embeddings = register_module("token_type_embeddings", torch::nn::Embedding(o.type_vocab_size(), e));
  }
  layer_norm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({e}).eps(o.layer_norm_eps())));
  dropout = register_module("dropout", torch::nn::Dropout(o.hidden_dropout_prob()));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids) {
  torch::Tensor positions;
  if (positions_from_padding_) {
    // create_position_ids_from_input_ids: real tokens count from pad + 1, pads stay at pad.
    const torch::Tensor real = input_ids.ne(pad_token_id_).to(torch::kLong);
    positions = (real.cumsum(1) + past_length_) * real + pad_token_id_;
  } else {
    positions = torch::arange(past_length_, past_length_ + input_ids.size(1), input_ids.options().dtype(torch::kLong));
  }
  // transformers' order (words, token types, then positions): float sums in another order
  // differ in the last bits, and exported bundles repeat this order exactly.
  torch::Tensor sum = word_embeddings->forward(input_ids);
  if (token_type_embeddings) sum = sum + token_type_embeddings->forward(token_type_ids);
  sum = sum + position_embeddings->forward(positions);
  return dropout->forward(into_stream(layer_norm->forward(sum)));
}

torch::Tensor sinusoidal_position_table(int64_t positions, int64_t dim) {
  // DistilBERT's create_sinusoidal_embeddings, in float64 as its numpy code, then float32.
  const torch::Tensor pos = torch::arange(positions, torch::kDouble).unsqueeze(1);
  const torch::Tensor j = torch::arange(dim, torch::kDouble);
  const torch::Tensor angle = pos / torch::pow(10000.0, 2.0 * torch::floor(j / 2) / static_cast<double>(dim));
  torch::Tensor out = torch::empty({positions, dim}, torch::kFloat);
  using torch::indexing::Slice;
  out.index_put_({Slice(), Slice(0, torch::indexing::None, 2)}, torch::sin(angle.index({Slice(), Slice(0, torch::indexing::None, 2)})).to(torch::kFloat));
  out.index_put_({Slice(), Slice(1, torch::indexing::None, 2)}, torch::cos(angle.index({Slice(), Slice(1, torch::indexing::None, 2)})).to(torch::kFloat));
  return out;
}

BertEncoderImpl::BertEncoderImpl(const BertOptions& o) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_hidden_layers(); ++i) {
    TransformerEncoderLayer block(TransformerEncoderLayerOptions(o.hidden_size(), o.num_attention_heads(),
                                                                 o.intermediate_size())
                                      .activation(o.hidden_act())
                                      .hidden_dropout(o.hidden_dropout_prob())
                                      .attention_dropout(o.attention_probs_dropout_prob())
                                      .layer_norm_eps(o.layer_norm_eps())
                                      .pre_layer_norm(o.pre_layer_norm())
                                      .context_size(o.attention().context_size));
    layer->push_back(block);
    layers_.push_back(block);
  }
  // Pre-LN leaves the residual stream unnormalised; the final norm gives the pooler and
  // heads the same scale post-LN models give them.
  if (o.pre_layer_norm()) {
    final_layer_norm = register_module(
        "final_layer_norm",
        torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size()}).eps(o.layer_norm_eps())));
  }
  extras = EncoderAttention(o.attention(), *this, o.hidden_size(), o.num_attention_heads(), o.num_hidden_layers());
}

torch::Tensor BertEncoderImpl::forward(torch::Tensor hidden, const torch::Tensor& padding,
                                       std::vector<torch::Tensor>* attentions, const torch::Tensor& context) {
  const torch::Tensor mask = extras.mask_for(padding, hidden.size(1), hidden.device());
  hidden = extras.run(layers_, hidden, mask, context, attentions);
  return final_layer_norm ? layer_norm(final_layer_norm, hidden) : hidden;
}

BertPoolerImpl::BertPoolerImpl(int64_t hidden_size, const std::string& activation)
    : activation_(parse_activation(activation, "pooler_act")) {
  dense = register_module("dense", Linear(hidden_size, hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& hidden) {
  return apply_activation(activation_, dense->forward(hidden.select(1, 0)));
}

BertModelImpl::BertModelImpl(const BertOptions& options, std::string preset)
    : options_(options), preset_(std::move(preset)) {
  const BertOptions& o = options_;
  TORCH_CHECK(o.vocab_size() > 0 && o.hidden_size() > 0 && o.num_hidden_layers() > 0 &&
                  o.num_attention_heads() > 0 && o.intermediate_size() > 0 && o.max_position_embeddings() > 0 &&
                  o.type_vocab_size() >= 0 && o.embedding_size() >= 0,
              "BertModel: sizes must be positive");
  TORCH_CHECK(o.pad_token_id() >= 0 && o.pad_token_id() < o.vocab_size(), "BertModel: pad_token_id ",
              o.pad_token_id(), " outside the vocabulary of ", o.vocab_size());
  embeddings = register_module("embeddings", BertEmbeddings(o));
  if (embedding_width(o) != o.hidden_size()) {
    embeddings_project = register_module("embeddings_project", Linear(embedding_width(o), o.hidden_size()));
  }
  encoder = register_module("encoder", BertEncoder(o));
  if (o.add_pooling_layer()) pooler = register_module("pooler", BertPooler(o.hidden_size(), o.pooler_act()));
  init_weights();
}

void BertModelImpl::init_weights() {
  // As HF's BertPreTrainedModel._init_weights.
  init_bert_lineage_weights(*this, options_.initializer_range());
  torch::NoGradGuard no_grad;
  // The context maps and the relative position bias start at zero (no effect), as their
  // modules build them; the draw above took them like the rest.
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    if (is_encoder_attention_parameter(name) && name.find("layer_fusion.") == std::string::npos) item.value().zero_();
  }
  if (options_.sinusoidal_pos_embds()) {
    torch::Tensor& table = embeddings->position_embeddings->weight;
    table.copy_(sinusoidal_position_table(table.size(0), table.size(1)));
    table.set_requires_grad(false);  // frozen in DistilBERT
  }
}

BertOutput BertModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                  const torch::Tensor& attention_mask, bool output_attentions,
                                  const torch::Tensor& context) {
  TORCH_CHECK(input_ids.dim() == 2, "BertModel: input_ids must be (batch, length), got ", input_ids.sizes());
  const int64_t length = input_ids.size(1);
  const int64_t past = embeddings->past_length();
  TORCH_CHECK(past + length <= max_sequence_length(options_), "BertModel: sequence length ", length,
              past > 0 ? " after a prefix of " + std::to_string(past) : std::string(),
              " exceeds max_position_embeddings ", options_.max_position_embeddings(),
              options_.positions_from_padding()
                  ? " less the padding offset (" + std::to_string(max_sequence_length(options_)) + " tokens)"
                  : std::string(),
              "; truncate the input or build the model with a larger max length");
  TORCH_CHECK(!token_type_ids.defined() || token_type_ids.sizes() == input_ids.sizes(),
              "BertModel: token_type_ids ", token_type_ids.sizes(), " must match input_ids ", input_ids.sizes());
  TORCH_CHECK(!attention_mask.defined() || attention_mask.sizes() == input_ids.sizes(),
              "BertModel: attention_mask ", attention_mask.sizes(), " must match input_ids ", input_ids.sizes());

  const torch::Tensor types = token_type_ids.defined() ? token_type_ids : torch::zeros_like(input_ids);
  const torch::Tensor mask = attention_mask.defined() ? padding_mask(attention_mask) : torch::Tensor();
  BertOutput out;
  torch::Tensor embedded = embeddings->forward(input_ids, types);
  if (embeddings_project) embedded = embeddings_project->forward(embedded);
  out.last_hidden_state = encoder->forward(embedded, mask,
                                           output_attentions ? &out.attentions : nullptr, context);
  if (pooler) out.pooler_output = pooler->forward(out.last_hidden_state);
  return out;
}

EncoderOutput BertModelImpl::encode(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                    const torch::Tensor& attention_mask, bool output_attentions,
                                    const torch::Tensor& context) {
  BertOutput out = forward(input_ids, token_type_ids, attention_mask, output_attentions, context);
  return {std::move(out.last_hidden_state), std::move(out.pooler_output), std::move(out.attentions)};
}

std::string BertModelImpl::hf_module_path(const std::string& path) const {
  return models::hf_module_path(options_.model_type(), path);
}

nlohmann::json BertModelImpl::config() const { return bert_model_config(options_, preset_); }

}  // namespace attune::models
