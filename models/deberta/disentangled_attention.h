// DeBERTa's disentangled self-attention ("attention.self"): content-to-content scores plus
// content-to-position (c2p) and position-to-content (p2c) terms over shared relative
// position embeddings, as transformers' DisentangledSelfAttention.
#pragma once
#include "models/common/linear.h"
#include "models/deberta/options.h"

#include <torch/torch.h>

namespace attune::models {

class DisentangledSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit DisentangledSelfAttentionImpl(const DebertaV2Options& options);

  // hidden (B,T,H). allowed: (B,1,T,T) bool (query and key both real), or undefined.
  // relative_pos: (1,T,T) int64 from build_relative_position; rel_embeddings: the encoder's
  // (2 * span, H) table after its optional LayerNorm. Both are ignored without
  // relative_attention. Returns the merged heads (B,T,H); probs, when not null, receives
  // the (B,heads,T,T) softmax (after masking, before dropout).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& allowed, const torch::Tensor& relative_pos,
                        const torch::Tensor& rel_embeddings, torch::Tensor* probs = nullptr);

  int64_t heads() const { return heads_; }
  int64_t head_size() const { return head_size_; }
  bool relative_attention() const { return relative_attention_; }
  bool c2p() const { return c2p_; }
  bool p2c() const { return p2c_; }
  bool share_att_key() const { return share_att_key_; }
  int64_t span() const { return span_; }  // position_buckets, or the relative span
  // Every score is divided by sqrt(head_size * (1 + number of position terms)), taken in
  // float32 as transformers takes it.
  double score_scale() const { return score_scale_; }

  Linear query_proj{nullptr};
  Linear key_proj{nullptr};
  Linear value_proj{nullptr};
  Linear pos_key_proj{nullptr};    // c2p without share_att_key
  Linear pos_query_proj{nullptr};  // p2c without share_att_key
  torch::nn::Dropout pos_dropout{nullptr};
  torch::nn::Dropout dropout{nullptr};

 private:
  // (B,L,H) -> (B*heads, L, head_size), transformers' transpose_for_scores.
  torch::Tensor split_heads(const torch::Tensor& x) const;
  // The c2p + p2c scores (B*heads, T, T), already divided by the scale.
  torch::Tensor relative_scores(const torch::Tensor& query, const torch::Tensor& key,
                                const torch::Tensor& relative_pos, const torch::Tensor& rel_embeddings);

  int64_t heads_;
  int64_t head_size_;
  bool relative_attention_;
  bool c2p_;
  bool p2c_;
  bool share_att_key_;
  int64_t span_;
  double score_scale_;
};
TORCH_MODULE(DisentangledSelfAttention);

}  // namespace attune::models
