// Encoder and decoder layers of the Transformer encoder-decoder, with Marian/BART
// parameter names (self_attn, self_attn_layer_norm, encoder_attn,
// encoder_attn_layer_norm, fc1, fc2, final_layer_norm), post-LN or pre-LN.
#pragma once
#include "models/seq2seq/attention.h"
#include "models/seq2seq/options.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

namespace attune::models {

// Self- and cross-attention caches of one decoder layer.
struct DecoderLayerCache {
  KeyValueCache self_attention;
  KeyValueCache cross_attention;
};

class Seq2SeqEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit Seq2SeqEncoderLayerImpl(const Seq2SeqOptions& options);
  // x (B,S,E); mask (B,1,1,S) bool, true = real token. weights as in attend().
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, torch::Tensor* weights = nullptr);

  Seq2SeqAttention self_attn{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm{nullptr};
  Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};

 private:
  Seq2SeqOptions options_;
  Activation activation_;
};
TORCH_MODULE(Seq2SeqEncoderLayer);

class Seq2SeqDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit Seq2SeqDecoderLayerImpl(const Seq2SeqOptions& options);
  // x (B,T,E) with causal self-attention (over the cache's earlier steps too) and
  // cross-attention over memory (B,S,E) with memory_mask (B,1,1,S).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory, const torch::Tensor& memory_mask,
                        DecoderLayerCache* cache = nullptr, torch::Tensor* cross_weights = nullptr);

  Seq2SeqAttention self_attn{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm{nullptr};
  Seq2SeqAttention encoder_attn{nullptr};
  torch::nn::LayerNorm encoder_attn_layer_norm{nullptr};
  Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};

 private:
  Seq2SeqOptions options_;
  Activation activation_;
};
TORCH_MODULE(Seq2SeqDecoderLayer);

}  // namespace attune::models
