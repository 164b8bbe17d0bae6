// ModernBERT encoder whose named_parameters() equal Hugging Face ModernBertModel's
// state_dict keys one-to-one ("embeddings.tok_embeddings.weight", "layers.N.attn.Wqkv.weight",
// "final_norm.weight", ...), plus the prediction head ("head.dense", "head.norm") that
// transformers keeps beside the encoder in its task models (see modernbert_hf_names.h).
#pragma once
#include "models/common/hf_module_paths.h"
#include "models/common/linear.h"
#include "models/common/norm.h"
#include "models/common/rotary.h"
#include "models/modernbert/options.h"
#include "models/text_encoder.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::models {

class ModernBertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ModernBertEmbeddingsImpl(const ModernBertOptions& options);
  torch::Tensor forward(const torch::Tensor& input_ids);
  torch::nn::Embedding tok_embeddings{nullptr};
  OptionalBiasLayerNorm norm{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(ModernBertEmbeddings);

// Self-attention with rotary positions; local layers see a window of tokens.
class ModernBertAttentionImpl : public torch::nn::Module {
 public:
  ModernBertAttentionImpl(const ModernBertOptions& options, int64_t layer_index);
  // mask: bool, broadcastable to (B,H,T,T), true = may attend. rotary: this layer kind's
  // float32 tables for the input's length (the model computes them once per forward).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, const RotaryTables& rotary,
                        torch::Tensor* weights);
  bool global() const { return global_; }
  Linear Wqkv{nullptr};
  Linear Wo{nullptr};

 private:
  int64_t heads_;
  double dropout_;
  bool global_;
};
TORCH_MODULE(ModernBertAttention);

// GeGLU feed-forward: Wo(drop(act(input) * gate)), input and gate the halves of Wi(x).
class ModernBertMlpImpl : public torch::nn::Module {
 public:
  explicit ModernBertMlpImpl(const ModernBertOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  Activation activation() const { return activation_; }
  Linear Wi{nullptr};
  Linear Wo{nullptr};

 private:
  Activation activation_;
  torch::nn::Dropout drop_{nullptr};
};
TORCH_MODULE(ModernBertMlp);

// What a layer attends with: global layers take the padding mask and the global rotary
// base, local layers the windowed mask and the local base.
struct ModernBertAttentionInputs {
  torch::Tensor global_mask, local_mask;
  RotaryTables global_rotary, local_rotary;
};

// Pre-norm block; layer 0 has no attn_norm (the embeddings end in a norm).
class ModernBertLayerImpl : public torch::nn::Module {
 public:
  ModernBertLayerImpl(const ModernBertOptions& options, int64_t index);
  torch::Tensor forward(const torch::Tensor& x, const ModernBertAttentionInputs& inputs, torch::Tensor* weights);
  OptionalBiasLayerNorm attn_norm{nullptr};  // none in layer 0
  ModernBertAttention attn{nullptr};
  OptionalBiasLayerNorm mlp_norm{nullptr};
  ModernBertMlp mlp{nullptr};
};
TORCH_MODULE(ModernBertLayer);

// norm(act(dense(x))): ModernBertPredictionHead.
class ModernBertHeadImpl : public torch::nn::Module {
 public:
  explicit ModernBertHeadImpl(const ModernBertOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  Activation activation() const { return activation_; }
  Linear dense{nullptr};
  OptionalBiasLayerNorm norm{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(ModernBertHead);

class ModernBertModelImpl : public TextEncoderImpl {
 public:
  // preset only labels config() (for display); the sizes come from options.
  explicit ModernBertModelImpl(const ModernBertOptions& options, std::string preset = "");

  // (B,T,H) after final_norm. attention_mask (B,T) 1/0 or undefined (all real).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                        std::vector<torch::Tensor>* attentions = nullptr);
  // pooled: head(first token) or head(masked mean), as classifier_pooling says (undefined
  // without the head). token_type_ids are ignored (ModernBERT has none); context unsupported.
  EncoderOutput encode(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                       const torch::Tensor& attention_mask, bool output_attentions,
                       const torch::Tensor& context = {}) override;
  int64_t hidden_size() const override { return options_.hidden_size(); }
  nlohmann::json config() const override;
  const ModernBertOptions& options() const { return options_; }

  ModernBertEmbeddings embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};
  OptionalBiasLayerNorm final_norm{nullptr};
  ModernBertHead head{nullptr};  // only with add_head

 private:
  void init_weights();

  ModernBertOptions options_;
  std::string preset_;
  std::vector<ModernBertLayer> layers_;  // typed views of `layers`
};
TORCH_MODULE(ModernBertModel);

}  // namespace attune::models
