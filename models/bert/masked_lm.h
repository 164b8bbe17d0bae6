// BERT with Hugging Face's masked-LM head. named_parameters() equal BertForMaskedLM's
// state_dict keys ("bert.*" without a pooler, "cls.predictions.transform.*",
// "cls.predictions.bias"); the decoder weight is the word embedding matrix (tied, as in
// HF), so it has no key of its own.
#pragma once
#include "models/bert/bert.h"
#include "models/common/linear.h"
#include "models/masked_lm.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

namespace attune::models {

// dense -> activation -> LayerNorm, as HF's BertPredictionHeadTransform (and RoBERTa's
// lm_head, DistilBERT's vocab_transform / vocab_layer_norm).
class BertPredictionHeadTransformImpl : public torch::nn::Module {
 public:
  explicit BertPredictionHeadTransformImpl(const BertOptions& options);
  torch::Tensor forward(const torch::Tensor& hidden);

  Linear dense{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};  // registered as "LayerNorm"

 private:
  Activation activation_;
};
TORCH_MODULE(BertPredictionHeadTransform);

// "cls.predictions": transform, then logits = transformed @ word_embeddings^T + bias.
class BertLMPredictionHeadImpl : public torch::nn::Module {
 public:
  BertLMPredictionHeadImpl(const BertOptions& options, torch::Tensor decoder_weight);
  torch::Tensor forward(const torch::Tensor& hidden);

  BertPredictionHeadTransform transform{nullptr};
  torch::Tensor bias;  // (vocab)

 private:
  torch::Tensor decoder_weight_;  // shared with the word embeddings, not registered here
};
TORCH_MODULE(BertLMPredictionHead);

class BertForMaskedLMImpl : public MaskedLanguageModelImpl {
 public:
  // options.add_pooling_layer() is ignored: HF's BertForMaskedLM has no pooler.
  explicit BertForMaskedLMImpl(BertOptions options, std::string preset = "");

  // Logits (B,T,vocab). Pass positions (N) of flattened (B*T) tokens to score only those
  // rows (N,vocab): the vocabulary projection dominates the cost and most tokens are not masked.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids = {},
                        const torch::Tensor& attention_mask = {}, const torch::Tensor& positions = {});
  torch::Tensor logits(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                       const torch::Tensor& attention_mask, const torch::Tensor& positions) override {
    return forward(input_ids, token_type_ids, attention_mask, positions);
  }
  TextEncoderImpl& encoder() override { return *bert; }

  BertModel bert{nullptr};
  std::shared_ptr<torch::nn::Module> cls;  // holds "predictions", for HF's key path
  BertLMPredictionHead predictions{nullptr};
};
TORCH_MODULE(BertForMaskedLM);

}  // namespace attune::models
