// Encoder-decoder attention with Marian/BART parameter names (q_proj, k_proj, v_proj,
// out_proj) and a key/value cache for incremental decoding. The arithmetic is the one
// attend() of models/attention, so every mask and the fused kernel apply here too.
#pragma once
#include "models/common/linear.h"

#include <torch/torch.h>

namespace attune::models {

// Keys and values of one attention layer, (B,H,S,D); undefined until first filled.
struct KeyValueCache {
  torch::Tensor key;
  torch::Tensor value;
  bool empty() const { return !key.defined(); }
};

class Seq2SeqAttentionImpl : public torch::nn::Module {
 public:
  Seq2SeqAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout);
  // x (B,T,E). Self-attention when `memory` is undefined, else cross-attention over
  // memory (B,S,E). mask and causal as in attend(). With a cache, self-attention
  // appends this step's keys and values to it; cross-attention fills it once and
  // reuses it (the memory does not change while decoding). weights as in attend().
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory, const torch::Tensor& mask, bool causal,
                        KeyValueCache* cache = nullptr, torch::Tensor* weights = nullptr);

  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // (B,L,E) -> (B,H,L,D)
  int64_t embed_dim_, num_heads_;
  double dropout_;
};
TORCH_MODULE(Seq2SeqAttention);

}  // namespace attune::models
