// Prefix tuning (Li & Liang 2021) in Hugging Face PEFT's layout: one table of
// (num_virtual_tokens, num_layers * 2 * hidden) values, optionally produced by an MLP
// from smaller token embeddings; layer i reads its keys from chunk 2i and its values
// from chunk 2i+1 of the last dimension.
#pragma once
#include "models/attention/attention.h"
#include "models/common/linear.h"

#include <torch/torch.h>

namespace attune::peft {

struct PrefixEncoderOptions {
  PrefixEncoderOptions(int64_t num_virtual_tokens, int64_t num_layers, int64_t hidden_size)
      : num_virtual_tokens_(num_virtual_tokens), num_layers_(num_layers), hidden_size_(hidden_size) {}
  TORCH_ARG(int64_t, num_virtual_tokens);
  TORCH_ARG(int64_t, num_layers);
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(bool, prefix_projection) = false;
  TORCH_ARG(int64_t, encoder_hidden_size) = 0;  // MLP width with prefix_projection
  TORCH_ARG(bool, zero_init) = false;           // PEFT's init_weights = "zero"
};

class PrefixEncoderImpl : public torch::nn::Module {
 public:
  explicit PrefixEncoderImpl(const PrefixEncoderOptions& options);
  // (P, num_layers * 2 * hidden): what PEFT saves as "prompt_embeddings".
  torch::Tensor forward();
  // Keys and values (P, hidden) of one layer.
  std::pair<torch::Tensor, torch::Tensor> layer(int64_t index);
  // Replaces the encoder by a fixed table (PEFT's inference form of a saved prefix).
  void load_table(const torch::Tensor& prompt_embeddings);
  const PrefixEncoderOptions& options() const { return options_; }

  torch::nn::Embedding embedding{nullptr};
  models::Linear transform_in{nullptr};   // with prefix_projection
  models::Linear transform_out{nullptr};  // with prefix_projection

 private:
  PrefixEncoderOptions options_;
};
TORCH_MODULE(PrefixEncoder);

// Hands one layer's slice of a prefix encoder to that layer's attention.
class LayerPrefix : public models::KeyValuePrefix {
 public:
  LayerPrefix(PrefixEncoder encoder, int64_t layer) : encoder_(std::move(encoder)), layer_(layer) {}
  std::pair<torch::Tensor, torch::Tensor> keys_values() override { return encoder_->layer(layer_); }

 private:
  PrefixEncoder encoder_;
  int64_t layer_;
};

}  // namespace attune::peft
