#include "models/deberta/masked_lm.h"

#include "core/error.h"

namespace attune::models {

DebertaV2LMHeadImpl::DebertaV2LMHeadImpl(const DebertaV2Options& o, torch::Tensor decoder_weight)
    : decoder_weight_(std::move(decoder_weight)),
      activation_(parse_activation(o.hidden_act(), "hidden_act")),
      legacy_(o.legacy()) {
  const int64_t width = legacy_ ? deberta_embedding_width(o) : o.hidden_size();
  TORCH_CHECK(width == deberta_embedding_width(o), "DebertaV2ForMaskedLM: the lm_predictions head (legacy false) ",
              "needs embedding_size equal to hidden_size ", o.hidden_size(), ", got ", deberta_embedding_width(o));
  Linear projection(o.hidden_size(), width);
  torch::nn::LayerNorm norm(torch::nn::LayerNormOptions({width}).eps(o.layer_norm_eps()));
  torch::nn::Module& parent = legacy_ ? *register_module("transform", std::make_shared<torch::nn::Module>()) : *this;
  dense = parent.register_module("dense", projection);
  layer_norm = parent.register_module("LayerNorm", norm);
  bias = register_parameter("bias", torch::zeros({o.vocab_size()}));
}

torch::Tensor DebertaV2LMHeadImpl::forward(const torch::Tensor& hidden) {
  const torch::Tensor h = layer_norm->forward(apply_activation(activation_, dense->forward(hidden)));
  // Legacy: the decoder nn.Linear with the bias attached; otherwise matmul then + bias.
  return legacy_ ? torch::linear(h, decoder_weight_, bias) : torch::matmul(h, decoder_weight_.t()) + bias;
}

DebertaV2ForMaskedLMImpl::DebertaV2ForMaskedLMImpl(DebertaV2Options options, std::string preset) {
  options.add_pooling_layer(false);
  deberta = register_module("deberta", DebertaV2Model(options, std::move(preset)));
  head_container = register_module(options.legacy() ? "cls" : "lm_predictions", std::make_shared<torch::nn::Module>());
  head = head_container->register_module(options.legacy() ? "predictions" : "lm_head",
                                         DebertaV2LMHead(options, deberta->embeddings->word_embeddings->weight));
  // As transformers' _init_weights: the dense layer drawn like every Linear, the bias zero.
  torch::NoGradGuard no_grad;
  head->dense->weight.normal_(0.0, options.initializer_range());
  head->dense->bias.zero_();
}

torch::Tensor DebertaV2ForMaskedLMImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                                const torch::Tensor& attention_mask, const torch::Tensor& positions) {
  torch::Tensor hidden = deberta->encode(input_ids, token_type_ids, attention_mask, false).hidden;
  if (positions.defined()) hidden = hidden.flatten(0, 1).index_select(0, positions);
  return head->forward(hidden);
}

}  // namespace attune::models
