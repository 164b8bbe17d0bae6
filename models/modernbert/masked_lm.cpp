#include "models/modernbert/masked_lm.h"

namespace attune::models {

ModernBertForMaskedLMImpl::ModernBertForMaskedLMImpl(ModernBertOptions options, std::string preset) {
  options.add_head(true);
  modernbert = register_module("modernbert", ModernBertModel(options, std::move(preset)));
  if (options.decoder_bias()) {
    decoder = register_module("decoder", std::make_shared<torch::nn::Module>());
    decoder_bias = decoder->register_parameter("bias", torch::zeros({options.vocab_size()}));
  }
}

torch::Tensor ModernBertForMaskedLMImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                                 const torch::Tensor& positions) {
  torch::Tensor hidden = modernbert->forward(input_ids, attention_mask);
  if (positions.defined()) hidden = hidden.reshape({-1, hidden.size(-1)}).index_select(0, positions);
  return torch::linear(modernbert->head->forward(hidden), modernbert->embeddings->tok_embeddings->weight, decoder_bias);
}

}  // namespace attune::models
