#include "models/bert/bert.h"

#include "models/bert/model_config.h"

namespace attune::models {

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertOptions& o) {
  const int64_t h = o.hidden_size();
  word_embeddings = register_module(
      "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size(), h).padding_idx(o.pad_token_id())));
  position_embeddings = register_module("position_embeddings", torch::nn::Embedding(o.max_position_embeddings(), h));
  token_type_embeddings = register_module("token_type_embeddings", torch::nn::Embedding(o.type_vocab_size(), h));
  layer_norm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(o.layer_norm_eps())));
  dropout = register_module("dropout", torch::nn::Dropout(o.hidden_dropout_prob()));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids) {
  const torch::Tensor positions =
      torch::arange(past_length_, past_length_ + input_ids.size(1), input_ids.options().dtype(torch::kLong));
  const torch::Tensor sum = word_embeddings->forward(input_ids) + token_type_embeddings->forward(token_type_ids) +
                            position_embeddings->forward(positions);
  return dropout->forward(layer_norm->forward(sum));
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
  return final_layer_norm ? final_layer_norm->forward(hidden) : hidden;
}

BertPoolerImpl::BertPoolerImpl(int64_t hidden_size) {
  dense = register_module("dense", Linear(hidden_size, hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& hidden) {
  return torch::tanh(dense->forward(hidden.select(1, 0)));
}

BertModelImpl::BertModelImpl(const BertOptions& options, std::string preset)
    : options_(options), preset_(std::move(preset)) {
  const BertOptions& o = options_;
  TORCH_CHECK(o.vocab_size() > 0 && o.hidden_size() > 0 && o.num_hidden_layers() > 0 &&
                  o.num_attention_heads() > 0 && o.intermediate_size() > 0 && o.max_position_embeddings() > 0 &&
                  o.type_vocab_size() > 0,
              "BertModel: sizes must be positive");
  TORCH_CHECK(o.pad_token_id() >= 0 && o.pad_token_id() < o.vocab_size(), "BertModel: pad_token_id ",
              o.pad_token_id(), " outside the vocabulary of ", o.vocab_size());
  embeddings = register_module("embeddings", BertEmbeddings(o));
  encoder = register_module("encoder", BertEncoder(o));
  if (o.add_pooling_layer()) pooler = register_module("pooler", BertPooler(o.hidden_size()));
  init_weights();
}

void BertModelImpl::init_weights() {
  // As HF's BertPreTrainedModel._init_weights.
  torch::NoGradGuard no_grad;
  const double std = options_.initializer_range();
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<Linear>()) {
      linear->weight.normal_(0.0, std);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* embedding = module->as<torch::nn::Embedding>()) {
      embedding->weight.normal_(0.0, std);
      if (const auto& padding = embedding->options.padding_idx()) embedding->weight[*padding].zero_();
    } else if (auto* norm = module->as<torch::nn::LayerNorm>()) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    }
  }
  // The context maps and the relative position bias start at zero (no effect), as their
  // modules build them; the loop above would have drawn them like the rest.
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    if (is_encoder_attention_parameter(name) && name.find("layer_fusion.") == std::string::npos) item.value().zero_();
  }
}

BertOutput BertModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                  const torch::Tensor& attention_mask, bool output_attentions,
                                  const torch::Tensor& context) {
  TORCH_CHECK(input_ids.dim() == 2, "BertModel: input_ids must be (batch, length), got ", input_ids.sizes());
  const int64_t length = input_ids.size(1);
  const int64_t past = embeddings->past_length();
  TORCH_CHECK(past + length <= options_.max_position_embeddings(), "BertModel: sequence length ", length,
              past > 0 ? " after a prefix of " + std::to_string(past) : std::string(),
              " exceeds max_position_embeddings ", options_.max_position_embeddings(),
              "; truncate the input or build the model with a larger max length");
  TORCH_CHECK(!token_type_ids.defined() || token_type_ids.sizes() == input_ids.sizes(),
              "BertModel: token_type_ids ", token_type_ids.sizes(), " must match input_ids ", input_ids.sizes());
  TORCH_CHECK(!attention_mask.defined() || attention_mask.sizes() == input_ids.sizes(),
              "BertModel: attention_mask ", attention_mask.sizes(), " must match input_ids ", input_ids.sizes());

  const torch::Tensor types = token_type_ids.defined() ? token_type_ids : torch::zeros_like(input_ids);
  const torch::Tensor mask = attention_mask.defined() ? padding_mask(attention_mask) : torch::Tensor();
  BertOutput out;
  out.last_hidden_state = encoder->forward(embeddings->forward(input_ids, types), mask,
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

nlohmann::json BertModelImpl::config() const { return bert_model_config(options_, preset_); }

}  // namespace attune::models
