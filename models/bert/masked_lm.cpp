#include "models/bert/masked_lm.h"

namespace attune::models {

BertPredictionHeadTransformImpl::BertPredictionHeadTransformImpl(const BertOptions& o)
    : activation_(parse_activation(o.lm_head_act().empty() ? o.hidden_act() : o.lm_head_act(), "lm_head_act")) {
  dense = register_module("dense", Linear(o.hidden_size(), o.hidden_size()));
  layer_norm = register_module(
      "LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size()}).eps(o.layer_norm_eps())));
}

torch::Tensor BertPredictionHeadTransformImpl::forward(const torch::Tensor& hidden) {
  return layer_norm->forward(apply_activation(activation_, dense->forward(hidden)));
}

BertLMPredictionHeadImpl::BertLMPredictionHeadImpl(const BertOptions& o, torch::Tensor decoder_weight)
    : decoder_weight_(std::move(decoder_weight)) {
  transform = register_module("transform", BertPredictionHeadTransform(o));
  bias = register_parameter("bias", torch::zeros({o.vocab_size()}));
}

torch::Tensor BertLMPredictionHeadImpl::forward(const torch::Tensor& hidden) {
  return torch::linear(transform->forward(hidden), decoder_weight_, bias);
}

BertForMaskedLMImpl::BertForMaskedLMImpl(BertOptions options, std::string preset) {
  options.add_pooling_layer(false);
  TORCH_CHECK(embedding_width(options) == options.hidden_size(), "BertForMaskedLM: embedding_size ",
              options.embedding_size(), " differs from hidden_size ", options.hidden_size(),
              " (ELECTRA's generator head is not supported)");
  bert = register_module("bert", BertModel(options, std::move(preset)));
  cls = register_module("cls", std::make_shared<torch::nn::Module>());
  predictions = cls->register_module("predictions",
                                     BertLMPredictionHead(options, bert->embeddings->word_embeddings->weight));
  // As HF's _init_weights: the transform like every Linear/LayerNorm, the bias zero.
  torch::NoGradGuard no_grad;
  predictions->transform->dense->weight.normal_(0.0, options.initializer_range());
  predictions->transform->dense->bias.zero_();
}

torch::Tensor BertForMaskedLMImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                           const torch::Tensor& attention_mask, const torch::Tensor& positions) {
  torch::Tensor hidden = bert->forward(input_ids, token_type_ids, attention_mask).last_hidden_state;
  if (positions.defined()) hidden = hidden.flatten(0, 1).index_select(0, positions);
  return predictions->forward(hidden);
}

}  // namespace attune::models
