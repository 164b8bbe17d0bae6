// The interface every family's masked LM (BERT body, ModernBERT, DeBERTa-v2/v3) offers to
// masked-LM pretraining, fill-mask and export, so those treat the families alike. Each
// family's class keeps transformers' *ForMaskedLM parameter names; this adds no module.
#pragma once
#include "models/text_encoder.h"

#include <torch/torch.h>

namespace attune::models {

class MaskedLanguageModelImpl : public torch::nn::Module {
 public:
  // Vocabulary logits (B,T,V). token_type_ids and attention_mask may be undefined (zeros,
  // all tokens); families without token types ignore them. With positions (N) of the
  // flattened (B*T) tokens, only those rows (N,V): the projection onto the vocabulary
  // dominates the cost and most tokens are not masked.
  virtual torch::Tensor logits(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                               const torch::Tensor& attention_mask, const torch::Tensor& positions) = 0;
  // The body: its config() is the run config's model section that rebuilds this model.
  virtual TextEncoderImpl& encoder() = 0;
};

}  // namespace attune::models
