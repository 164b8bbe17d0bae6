// The one attention entry point every model uses, and the query/key/value projection
// module built on it. Output projection is left to the caller so that parameter names
// can follow Hugging Face BERT ("attention.self.*" vs "attention.output.dense").
#pragma once
#include "models/common/linear.h"

#include <torch/torch.h>

#include <memory>
#include <utility>

namespace attune::models {

// What masked attention scores are set to: the dtype's lowest finite value rather than
// -inf, so a query whose keys are all masked gets a uniform (finite) distribution instead
// of NaN, as in Hugging Face.
double masked_score(torch::ScalarType dtype);

// q (B,H,T,D), k/v (B,H,S,D). mask: undefined, or bool (true = may attend) or floating
// additive, broadcastable to (B,H,T,S). causal additionally forbids key s for query t when
// s > t + (S - T), so a query block at the end of a longer (cached) key sequence works.
// Returns (B,H,T,D). If weights != nullptr it also receives the (B,H,T,S) softmax
// probabilities (after masking, before dropout); that forces the explicit math path.
// A query that may see no key at all gets the mean of all values on the math path (as
// Hugging Face's masking with the lowest value gives) but zeros from the fused CUDA
// kernels: masks should leave every query at least one key.
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& mask, bool causal, double dropout_p, bool training,
                     torch::Tensor* weights = nullptr);

// (B,S) 1/0 (any integer, floating or bool dtype) -> bool (B,1,1,S), true = real token.
torch::Tensor padding_mask(const torch::Tensor& attention_mask);

// Learned keys and values prepended to every sequence (prefix tuning). Each returns
// (P, embed_dim) tensors, recomputed per forward so gradients reach their parameters.
class KeyValuePrefix {
 public:
  virtual ~KeyValuePrefix() = default;
  virtual std::pair<torch::Tensor, torch::Tensor> keys_values() = 0;
};

struct MultiHeadAttentionOptions {
  MultiHeadAttentionOptions(int64_t embed_dim, int64_t num_heads) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, embed_dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(double, dropout) = 0.0;  // on the attention probabilities, in training only
  TORCH_ARG(bool, bias) = true;
};

class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  explicit MultiHeadAttentionImpl(const MultiHeadAttentionOptions& options);
  // x (B,T,E); context (B,S,E) or undefined for self-attention. mask and causal as in
  // attend(). query_shift (B,E), if defined, is added to every projected query: the scores
  // gain shift . key / sqrt(D), a term that depends on the keys and the shift alone
  // (context-conditioned attention). Returns the merged heads (B,T,E); weights as in attend().
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {}, const torch::Tensor& mask = {},
                        bool causal = false, torch::Tensor* weights = nullptr, const torch::Tensor& query_shift = {});

  const MultiHeadAttentionOptions& options() const { return options_; }
  // nullptr removes it. Prefix positions are always visible (padding masks are extended).
  void set_prefix(std::shared_ptr<KeyValuePrefix> prefix) { prefix_ = std::move(prefix); }
  const std::shared_ptr<KeyValuePrefix>& prefix() const { return prefix_; }
  Linear query{nullptr};
  Linear key{nullptr};
  Linear value{nullptr};

 private:
  // (B,L,E) -> (B,H,L,D)
  torch::Tensor split_heads(const torch::Tensor& x) const;

  MultiHeadAttentionOptions options_;
  std::shared_ptr<KeyValuePrefix> prefix_;
};
TORCH_MODULE(MultiHeadAttention);

}  // namespace attune::models
