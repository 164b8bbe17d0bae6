#include "models/deberta/disentangled_attention.h"

#include "models/attention/attention.h"

#include <cmath>

namespace attune::models {

DisentangledSelfAttentionImpl::DisentangledSelfAttentionImpl(const DebertaV2Options& o)
    : heads_(o.num_attention_heads()),
      head_size_(o.num_attention_heads() > 0 ? o.hidden_size() / o.num_attention_heads() : 0),
      relative_attention_(o.relative_attention()),
      c2p_(deberta_has_pos_att(o, "c2p")),
      p2c_(deberta_has_pos_att(o, "p2c")),
      share_att_key_(o.share_att_key()),
      span_(deberta_position_embedding_size(o)),
      // The position terms are counted from pos_att_type even without relative_attention,
      // as transformers does: torch.sqrt(torch.tensor(head_size, dtype=float) * scale_factor).
      score_scale_(std::sqrt(static_cast<float>(head_size_ * (1 + (c2p_ ? 1 : 0) + (p2c_ ? 1 : 0))))) {
  TORCH_CHECK(o.hidden_size() % o.num_attention_heads() == 0, "DisentangledSelfAttention: hidden_size ",
              o.hidden_size(), " is not divisible by num_attention_heads ", o.num_attention_heads());
  const int64_t h = o.hidden_size();
  query_proj = register_module("query_proj", Linear(h, h));
  key_proj = register_module("key_proj", Linear(h, h));
  value_proj = register_module("value_proj", Linear(h, h));
  if (relative_attention_) {
    pos_dropout = register_module("pos_dropout", torch::nn::Dropout(o.hidden_dropout_prob()));
    if (!share_att_key_) {
      if (c2p_) pos_key_proj = register_module("pos_key_proj", Linear(h, h));
      if (p2c_) pos_query_proj = register_module("pos_query_proj", Linear(h, h));
    }
  }
  dropout = register_module("dropout", torch::nn::Dropout(o.attention_probs_dropout_prob()));
}

torch::Tensor DisentangledSelfAttentionImpl::split_heads(const torch::Tensor& x) const {
  const int64_t b = x.size(0), l = x.size(1);
  return x.view({b, l, heads_, -1}).permute({0, 2, 1, 3}).contiguous().view({-1, l, x.size(2) / heads_});
}

torch::Tensor DisentangledSelfAttentionImpl::relative_scores(const torch::Tensor& query, const torch::Tensor& key,
                                                              const torch::Tensor& relative_pos,
                                                              const torch::Tensor& rel_embeddings) {
  const int64_t batch = query.size(0) / heads_;
  const int64_t t = query.size(1), s = key.size(1);
  TORCH_CHECK(relative_pos.dim() == 3 && relative_pos.size(1) == t && relative_pos.size(2) == s,
              "DisentangledSelfAttention: relative_pos must be (1,", t, ",", s, "), got ", relative_pos.sizes());
  TORCH_CHECK(rel_embeddings.size(0) >= 2 * span_, "DisentangledSelfAttention: rel_embeddings has ",
              rel_embeddings.size(0), " rows, needs ", 2 * span_);
  const torch::Tensor rel = rel_embeddings.slice(0, 0, 2 * span_).unsqueeze(0);  // (1, 2*span, H)
  const torch::Tensor index = relative_pos.squeeze(0);                         // (T, S)
  torch::Tensor score;
  if (c2p_) {
    Linear& proj = share_att_key_ ? key_proj : pos_key_proj;
    const torch::Tensor pos_key = split_heads(proj->forward(rel)).repeat({batch, 1, 1});  // (B*h, 2*span, d)
    const torch::Tensor c2p = torch::bmm(query, pos_key.transpose(-1, -2));
    const torch::Tensor c2p_pos = torch::clamp(index + span_, 0, 2 * span_ - 1);
    const torch::Tensor gathered = torch::gather(c2p, -1, c2p_pos.expand({query.size(0), t, s}));
    score = gathered / score_scale_;
  }
  if (p2c_) {
    Linear& proj = share_att_key_ ? query_proj : pos_query_proj;
    const torch::Tensor pos_query = split_heads(proj->forward(rel)).repeat({batch, 1, 1});
    // Key-to-query distances; self-attention has T == S, so they are relative_pos itself.
    const torch::Tensor p2c_pos = torch::clamp(-index + span_, 0, 2 * span_ - 1);
    const torch::Tensor p2c = torch::bmm(key, pos_query.transpose(-1, -2));  // (B*h, S, 2*span)
    const torch::Tensor gathered = torch::gather(p2c, -1, p2c_pos.expand({query.size(0), s, s})).transpose(-1, -2);
    score = score.defined() ? score + gathered / score_scale_ : gathered / score_scale_;
  }
  return score;
}

torch::Tensor DisentangledSelfAttentionImpl::forward(const torch::Tensor& hidden, const torch::Tensor& allowed,
                                                     const torch::Tensor& relative_pos,
                                                     const torch::Tensor& rel_embeddings, torch::Tensor* probs) {
  TORCH_CHECK(hidden.dim() == 3, "DisentangledSelfAttention: hidden must be (B,T,H), got ", hidden.sizes());
  const int64_t b = hidden.size(0), t = hidden.size(1);
  const torch::Tensor query = split_heads(query_proj->forward(hidden));
  const torch::Tensor key = split_heads(key_proj->forward(hidden));
  const torch::Tensor value = split_heads(value_proj->forward(hidden));

  // transformers divides the keys before the product.
  torch::Tensor scores = torch::bmm(query, key.transpose(-1, -2) / score_scale_);
  if (relative_attention_ && (c2p_ || p2c_)) {
    TORCH_CHECK(relative_pos.defined() && rel_embeddings.defined(),
                "DisentangledSelfAttention: relative attention needs relative_pos and rel_embeddings");
    scores = scores + relative_scores(query, key, relative_pos, pos_dropout->forward(rel_embeddings));
  }
  scores = scores.view({b, heads_, t, t});
  // transformers fills masked scores with torch.finfo(dtype).min (not -inf), as masked_score().
  if (allowed.defined()) scores = scores.masked_fill(allowed.logical_not(), masked_score(scores.scalar_type()));
  // Newer transformers (4.46+) leave rows of padded queries uniform; older ones zeroed them
  // (XSoftmax). Real queries' rows are identical either way: masked keys get exactly 0.
  // Half types take their softmax in float32; float32 and float64 in their own precision.
  const bool half = scores.scalar_type() == torch::kHalf || scores.scalar_type() == torch::kBFloat16;
  const torch::Tensor p = half ? torch::softmax(scores, -1, torch::kFloat).to(scores.scalar_type()) : torch::softmax(scores, -1);
  if (probs != nullptr) *probs = p;
  const torch::Tensor context = torch::bmm(dropout->forward(p).view({-1, t, t}), value);
  return context.view({b, heads_, t, -1}).permute({0, 2, 1, 3}).contiguous().view({b, t, -1});
}

}  // namespace attune::models
