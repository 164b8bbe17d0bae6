// One Transformer encoder block whose parameter names are exactly those of Hugging Face's
// BertLayer, so BERT checkpoints load by name:
//   attention.self.{query,key,value}, attention.output.{dense,LayerNorm},
//   intermediate.dense, output.{dense,LayerNorm}
#pragma once
#include "models/attention/attention.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

#include <string>

namespace attune::models {

struct TransformerEncoderLayerOptions {
  TransformerEncoderLayerOptions(int64_t hidden_size, int64_t num_heads, int64_t intermediate_size)
      : hidden_size_(hidden_size), num_heads_(num_heads), intermediate_size_(intermediate_size) {}
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, intermediate_size);
  TORCH_ARG(std::string, activation) = "gelu";  // see activation_names()
  TORCH_ARG(double, hidden_dropout) = 0.1;
  TORCH_ARG(double, attention_dropout) = 0.1;
  TORCH_ARG(double, layer_norm_eps) = 1e-12;
  TORCH_ARG(bool, pre_layer_norm) = false;  // false: post-LN as in BERT
  // > 0: the layer takes a (B, context_size) context vector that shifts every query by a
  // learned linear map of it (attention.context, no bias, zero at start).
  TORCH_ARG(int64_t, context_size) = 0;
};

// A projection and the LayerNorm of its residual sum (HF's BertSelfOutput / BertOutput).
class DenseLayerNormImpl : public torch::nn::Module {
 public:
  DenseLayerNormImpl(int64_t in_features, int64_t out_features, double eps);
  Linear dense{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};  // registered as "LayerNorm"
};
TORCH_MODULE(DenseLayerNorm);

// HF's BertAttention: "self" (query/key/value) and "output" (dense + LayerNorm).
class AttentionBlockImpl : public torch::nn::Module {
 public:
  AttentionBlockImpl(const MultiHeadAttentionOptions& attention, double eps, int64_t context_size = 0);
  MultiHeadAttention self_attention{nullptr};  // registered as "self"
  DenseLayerNorm output{nullptr};
  Linear context{nullptr};  // context-conditioned attention only
};
TORCH_MODULE(AttentionBlock);

// HF's BertIntermediate: the first feed-forward projection.
class IntermediateImpl : public torch::nn::Module {
 public:
  IntermediateImpl(int64_t hidden_size, int64_t intermediate_size);
  Linear dense{nullptr};
};
TORCH_MODULE(Intermediate);

class TransformerEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerEncoderLayerImpl(const TransformerEncoderLayerOptions& options);
  // x (B,T,H); mask as in attend() (e.g. padding_mask()). weights as in attend().
  // context (B, context_size) only when the layer was built with a context size.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {}, torch::Tensor* weights = nullptr,
                        const torch::Tensor& context = {});

  const TransformerEncoderLayerOptions& options() const { return options_; }
  AttentionBlock attention{nullptr};
  Intermediate intermediate{nullptr};
  DenseLayerNorm output{nullptr};

 private:
  TransformerEncoderLayerOptions options_;
  Activation activation_;
};
TORCH_MODULE(TransformerEncoderLayer);

}  // namespace attune::models
