// The interface every text encoder (BERT today, other families later) offers to tasks.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <vector>

namespace attune::models {

struct EncoderOutput {
  torch::Tensor hidden;                    // (B,T,H)
  torch::Tensor pooled;                    // (B,H), or undefined when the encoder has no pooler
  std::vector<torch::Tensor> attentions;   // one (B,heads,T,T) per layer, only when requested
};

class TextEncoderImpl : public torch::nn::Module {
 public:
  // token_type_ids and attention_mask ((B,T) 1/0) may be undefined. context: (B,
  // context_size()) float, required exactly when context_size() > 0.
  virtual EncoderOutput encode(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                               const torch::Tensor& attention_mask, bool output_attentions,
                               const torch::Tensor& context = {}) = 0;
  // Values per example of the outside context the attention is conditioned on (0: none).
  virtual int64_t context_size() const { return 0; }
  virtual int64_t hidden_size() const = 0;
  // The fully resolved model config section: make_text_encoder(config(), ...) rebuilds it.
  virtual nlohmann::json config() const = 0;
};

}  // namespace attune::models
