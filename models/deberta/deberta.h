// DeBERTa-v2/v3 encoder whose named_parameters() equal Hugging Face DebertaV2Model's
// state_dict keys one-to-one ("embeddings.*", "encoder.layer.N.*", "encoder.rel_embeddings.weight",
// "encoder.LayerNorm.*"), plus "pooler.dense.*" (transformers' ContextPooler, which lives
// next to "deberta" in DebertaV2ForSequenceClassification) with add_pooling_layer.
#pragma once
#include "models/common/linear.h"
#include "models/deberta/layer.h"
#include "models/deberta/options.h"
#include "models/text_encoder.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::models {

class DebertaV2EmbeddingsImpl : public torch::nn::Module {
 public:
  explicit DebertaV2EmbeddingsImpl(const DebertaV2Options& options);
  // input_ids (B,T); token_type_ids (B,T) (ignored without type embeddings); mask (B,T)
  // 1/0 or undefined. Padded positions come out as zero vectors (before dropout).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids, const torch::Tensor& mask);

  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};    // position_biased_input only
  torch::nn::Embedding token_type_embeddings{nullptr};  // type_vocab_size > 0 only
  Linear embed_proj{nullptr};                           // embedding_size != hidden_size only; no bias
  torch::nn::LayerNorm layer_norm{nullptr};             // registered as "LayerNorm"
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(DebertaV2Embeddings);

class DebertaV2EncoderImpl : public torch::nn::Module {
 public:
  explicit DebertaV2EncoderImpl(const DebertaV2Options& options);
  // hidden (B,T,H); attention_mask (B,T) 1/0 or undefined. Appends one (B,heads,T,T)
  // tensor per layer to attentions when it is not null.
  torch::Tensor forward(torch::Tensor hidden, const torch::Tensor& attention_mask,
                        std::vector<torch::Tensor>* attentions);
  // The relative embedding table the layers share (LayerNorm-ed with norm_rel_ebd
  // "layer_norm"); undefined without relative_attention.
  torch::Tensor rel_embedding();
  const std::vector<DebertaV2Layer>& layers() const { return layers_; }

  torch::nn::ModuleList layer{nullptr};
  torch::nn::Embedding rel_embeddings{nullptr};  // relative_attention only
  torch::nn::LayerNorm layer_norm{nullptr};      // "LayerNorm"; norm_rel_ebd "layer_norm" only

 private:
  std::vector<DebertaV2Layer> layers_;  // typed views of `layer`
  bool relative_attention_;
  int64_t position_buckets_;
  int64_t relative_span_;
};
TORCH_MODULE(DebertaV2Encoder);

// activation(dense(dropout(hidden[:, 0]))): transformers' ContextPooler.
class DebertaV2ContextPoolerImpl : public torch::nn::Module {
 public:
  explicit DebertaV2ContextPoolerImpl(const DebertaV2Options& options);
  torch::Tensor forward(const torch::Tensor& hidden);
  Activation activation() const { return activation_; }

  Linear dense{nullptr};
  torch::nn::Dropout dropout{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(DebertaV2ContextPooler);

class DebertaV2ModelImpl : public TextEncoderImpl {
 public:
  // preset only labels config() ("preset" key, for display); the sizes come from options.
  explicit DebertaV2ModelImpl(const DebertaV2Options& options, std::string preset = "");

  // input_ids (B,T); token_type_ids (B,T) or undefined (zeros); attention_mask (B,T) 1/0
  // or undefined (all real). context is not supported (context_size() is 0).
  EncoderOutput encode(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                       const torch::Tensor& attention_mask, bool output_attentions,
                       const torch::Tensor& context = {}) override;
  int64_t hidden_size() const override { return options_.hidden_size(); }
  nlohmann::json config() const override;
  const DebertaV2Options& options() const { return options_; }

  DebertaV2Embeddings embeddings{nullptr};
  DebertaV2Encoder encoder{nullptr};
  DebertaV2ContextPooler pooler{nullptr};  // add_pooling_layer only

 private:
  void init_weights();

  DebertaV2Options options_;
  std::string preset_;
};
TORCH_MODULE(DebertaV2Model);

}  // namespace attune::models
