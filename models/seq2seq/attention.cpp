#include "models/seq2seq/attention.h"

#include "models/attention/attention.h"

namespace attune::models {

Seq2SeqAttentionImpl::Seq2SeqAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout)
    : embed_dim_(embed_dim), num_heads_(num_heads), dropout_(dropout) {
  TORCH_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0, "Seq2SeqAttention: embed_dim ", embed_dim,
              " must be a positive multiple of num_heads ", num_heads);
  q_proj = register_module("q_proj", Linear(embed_dim, embed_dim));
  k_proj = register_module("k_proj", Linear(embed_dim, embed_dim));
  v_proj = register_module("v_proj", Linear(embed_dim, embed_dim));
  out_proj = register_module("out_proj", Linear(embed_dim, embed_dim));
}

torch::Tensor Seq2SeqAttentionImpl::split_heads(const torch::Tensor& x) const {
  return x.view({x.size(0), x.size(1), num_heads_, embed_dim_ / num_heads_}).transpose(1, 2);
}

torch::Tensor Seq2SeqAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& memory,
                                            const torch::Tensor& mask, bool causal, KeyValueCache* cache,
                                            torch::Tensor* weights) {
  const bool cross = memory.defined();
  const torch::Tensor q = split_heads(q_proj->forward(x));
  torch::Tensor k, v;
  if (cross && cache != nullptr && !cache->empty()) {
    k = cache->key;
    v = cache->value;
  } else {
    const torch::Tensor& source = cross ? memory : x;
    k = split_heads(k_proj->forward(source));
    v = split_heads(v_proj->forward(source));
    if (cache != nullptr) {
      if (!cross && !cache->empty()) {
        k = torch::cat({cache->key, k}, 2);
        v = torch::cat({cache->value, v}, 2);
      }
      cache->key = k;
      cache->value = v;
    }
  }
  const torch::Tensor out = attend(q, k, v, mask, causal, dropout_, is_training(), weights);
  return out_proj->forward(out.transpose(1, 2).reshape({x.size(0), x.size(1), embed_dim_}));
}

}  // namespace attune::models
