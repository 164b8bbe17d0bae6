// ModernBERT with Hugging Face's masked-LM head: logits = decoder(head(hidden)), the
// decoder's weight tied to the token embeddings as in ModernBertForMaskedLM. Parameters
// are "modernbert.*" (the encoder, with the head inside it as "modernbert.head.*") and "decoder.bias";
// modernbert_hf_names.h gives transformers' names.
#pragma once
#include "models/masked_lm.h"
#include "models/modernbert/modernbert.h"

#include <torch/torch.h>

#include <string>

namespace attune::models {

class ModernBertForMaskedLMImpl : public MaskedLanguageModelImpl {
 public:
  // options.add_head() is ignored: the masked LM always has the head.
  explicit ModernBertForMaskedLMImpl(ModernBertOptions options, std::string preset = "");
  // Logits (B,T,vocab); with positions (N) of flattened tokens, only those rows (N,vocab).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                        const torch::Tensor& positions = {});
  // ModernBERT has no token types: they are ignored.
  torch::Tensor logits(const torch::Tensor& input_ids, const torch::Tensor& /*token_type_ids*/,
                       const torch::Tensor& attention_mask, const torch::Tensor& positions) override {
    return forward(input_ids, attention_mask, positions);
  }
  TextEncoderImpl& encoder() override { return *modernbert; }

  ModernBertModel modernbert{nullptr};
  std::shared_ptr<torch::nn::Module> decoder;  // holds "bias", for transformers' key path
  torch::Tensor decoder_bias;                  // (vocab), undefined without decoder_bias
};
TORCH_MODULE(ModernBertForMaskedLM);

}  // namespace attune::models
