// DeBERTa-v2/v3 with transformers' masked-LM head. named_parameters() equal
// DebertaV2ForMaskedLM's state_dict keys: "deberta.*" (no pooler) and, by
// DebertaV2Config.legacy, either "cls.predictions.transform.{dense,LayerNorm}.*" +
// "cls.predictions.bias" (legacy, the default) or "lm_predictions.lm_head.{dense,LayerNorm}.*"
// + "lm_predictions.lm_head.bias" (the original DeBERTa checkpoints' layout). The decoder
// weight is the word embedding matrix (tied), so it has no key of its own.
#pragma once
#include "models/common/linear.h"
#include "models/deberta/deberta.h"
#include "models/masked_lm.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

#include <string>

namespace attune::models {

// dense -> activation -> LayerNorm -> @ word_embeddings^T + bias.
class DebertaV2LMHeadImpl : public torch::nn::Module {
 public:
  // legacy: dense/LayerNorm sit in a "transform" submodule and map to the embedding width;
  // otherwise they are direct children at hidden_size (which must equal the embedding width).
  DebertaV2LMHeadImpl(const DebertaV2Options& options, torch::Tensor decoder_weight);
  torch::Tensor forward(const torch::Tensor& hidden);

  Linear dense{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  torch::Tensor bias;  // (vocab)

 private:
  torch::Tensor decoder_weight_;  // shared with the word embeddings, not registered here
  Activation activation_;
  bool legacy_;
};
TORCH_MODULE(DebertaV2LMHead);

class DebertaV2ForMaskedLMImpl : public MaskedLanguageModelImpl {
 public:
  // options.add_pooling_layer() is ignored: transformers' DebertaV2ForMaskedLM has no pooler.
  explicit DebertaV2ForMaskedLMImpl(DebertaV2Options options, std::string preset = "");

  // Logits (B,T,vocab). Pass positions (N) of flattened (B*T) tokens to score only those rows.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids = {},
                        const torch::Tensor& attention_mask = {}, const torch::Tensor& positions = {});
  torch::Tensor logits(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                       const torch::Tensor& attention_mask, const torch::Tensor& positions) override {
    return forward(input_ids, token_type_ids, attention_mask, positions);
  }
  TextEncoderImpl& encoder() override { return *deberta; }

  DebertaV2Model deberta{nullptr};
  std::shared_ptr<torch::nn::Module> head_container;  // "cls" or "lm_predictions", for HF's key path
  DebertaV2LMHead head{nullptr};                      // "predictions" or "lm_head"
};
TORCH_MODULE(DebertaV2ForMaskedLM);

}  // namespace attune::models
