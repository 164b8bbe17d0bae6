#include "models/attention/attention.h"

#include "core/compat.h"
#include "models/common/fusion.h"

#include <cmath>
#include <limits>

namespace attune::models {
namespace {

// Softmax runs in float32 for half types (as Hugging Face does) and in the input's own
// precision otherwise, so float64 stays float64.
torch::ScalarType softmax_dtype(torch::ScalarType t) {
  return (t == torch::kHalf || t == torch::kBFloat16) ? torch::kFloat : t;
}

// (T,S) bool, true where key s is visible to query t (keys aligned to the end of S).
torch::Tensor causal_allowed(int64_t t, int64_t s, const torch::Device& device) {
  return torch::ones({t, s}, torch::TensorOptions().dtype(torch::kBool).device(device)).tril(s - t);
}

torch::Tensor to_additive(const torch::Tensor& allowed, torch::ScalarType dtype) {
  return torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(dtype).device(allowed.device()))
      .masked_fill(allowed.logical_not(), masked_score(dtype));
}

void check_inputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                  const torch::Tensor& mask, bool causal) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attend: q, k, v must be (B,H,T,D), got ", q.sizes(),
              ", ", k.sizes(), ", ", v.sizes());
  TORCH_CHECK(k.sizes() == v.sizes(), "attend: k and v shapes differ: ", k.sizes(), " vs ", v.sizes());
  TORCH_CHECK(q.size(0) == k.size(0) && q.size(1) == k.size(1) && q.size(3) == k.size(3),
              "attend: q ", q.sizes(), " does not match k ", k.sizes());
  TORCH_CHECK(q.is_floating_point(), "attend: q must be floating point, got ", q.scalar_type());
  TORCH_CHECK(!causal || k.size(2) >= q.size(2), "attend: causal attention needs at least as many keys (",
              k.size(2), ") as queries (", q.size(2), ")");
  if (mask.defined()) {
    TORCH_CHECK(mask.scalar_type() == torch::kBool || mask.is_floating_point(),
                "attend: mask must be bool (true = may attend) or floating additive, got ", mask.scalar_type(),
                "; convert 1/0 attention masks with padding_mask()");
  }
}

torch::Tensor fused_path(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                         const torch::Tensor& mask, bool causal, double dropout_p) {
  const int64_t t = q.size(2), s = k.size(2);
  const torch::ScalarType dtype = q.scalar_type();
  // Boolean masks go in as additive lowest-value masks so that fully masked rows give the
  // same finite result as the math path (boolean masks there may yield NaN or zeros).
  torch::Tensor additive;
  // Additive masks are clamped to the dtype's lowest finite value: float32's lowest rounds
  // to -inf in bfloat16, and a row of -inf would be NaN.
  if (mask.defined()) {
    additive = mask.scalar_type() == torch::kBool ? to_additive(mask, dtype) : mask.to(dtype).clamp_min(masked_score(dtype));
  }
  // The kernel's own is_causal aligns keys to the start, and cannot be combined with a mask.
  const bool kernel_causal = causal && !additive.defined() && t == s;
  if (causal && !kernel_causal) {
    const torch::Tensor allowed = causal_allowed(t, s, q.device());
    additive = additive.defined() ? additive.masked_fill(allowed.logical_not(), masked_score(dtype))
                                  : to_additive(allowed, dtype);
  }
  c10::optional<torch::Tensor> optional_mask;
  if (additive.defined()) optional_mask = additive;
  return compat::fused_attention(q, k, v, optional_mask, dropout_p, kernel_causal);
}

torch::Tensor math_path(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, bool causal, double dropout_p, torch::Tensor* weights) {
  const int64_t t = q.size(2), s = k.size(2);
  const torch::ScalarType compute = softmax_dtype(q.scalar_type());
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)).mul(scale).to(compute);

  torch::Tensor allowed;
  if (mask.defined()) {
    if (mask.scalar_type() == torch::kBool) {
      allowed = mask;
    } else {
      scores = scores + mask.to(compute);
    }
  }
  if (causal) {
    const torch::Tensor causal_mask = causal_allowed(t, s, q.device());
    allowed = allowed.defined() ? allowed.logical_and(causal_mask) : causal_mask;
  }
  if (allowed.defined()) scores = scores.masked_fill(allowed.logical_not(), masked_score(compute));

  torch::Tensor probs = torch::softmax(scores, -1).to(q.scalar_type());
  if (weights != nullptr) *weights = probs;
  if (dropout_p > 0.0) probs = torch::dropout(probs, dropout_p, /*train=*/true);
  return torch::matmul(probs, v);
}

}  // namespace

double masked_score(torch::ScalarType t) {
  switch (t) {
    case torch::kDouble: return std::numeric_limits<double>::lowest();
    case torch::kFloat: return std::numeric_limits<float>::lowest();
    case torch::kHalf: return -65504.0;
    case torch::kBFloat16: return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
    default: TORCH_CHECK(false, "attend: unsupported floating dtype ", t);
  }
}

torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& mask, bool causal, double dropout_p, bool training,
                     torch::Tensor* weights) {
  check_inputs(q, k, v, mask, causal);
  TORCH_CHECK(dropout_p >= 0.0 && dropout_p < 1.0, "attend: dropout_p must be in [0, 1), got ", dropout_p);
  const double p = training ? dropout_p : 0.0;
  if (compat::kHasFusedAttention && weights == nullptr) return fused_path(q, k, v, mask, causal, p);
  return math_path(q, k, v, mask, causal, p, weights);
}

torch::Tensor padding_mask(const torch::Tensor& attention_mask) {
  TORCH_CHECK(attention_mask.dim() == 2, "padding_mask: attention_mask must be (B,S), got ", attention_mask.sizes());
  const torch::Tensor allowed =
      attention_mask.scalar_type() == torch::kBool ? attention_mask : attention_mask.ne(0);
  return allowed.view({attention_mask.size(0), 1, 1, attention_mask.size(1)});
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const MultiHeadAttentionOptions& options) : options_(options) {
  const int64_t e = options_.embed_dim(), h = options_.num_heads();
  TORCH_CHECK(e > 0 && h > 0, "MultiHeadAttention: embed_dim (", e, ") and num_heads (", h, ") must be positive");
  TORCH_CHECK(e % h == 0, "MultiHeadAttention: embed_dim ", e, " is not divisible by num_heads ", h);
  TORCH_CHECK(options_.dropout() >= 0.0 && options_.dropout() < 1.0,
              "MultiHeadAttention: dropout must be in [0, 1), got ", options_.dropout());
  const auto linear = torch::nn::LinearOptions(e, e).bias(options_.bias());
  query = register_module("query", Linear(linear));
  key = register_module("key", Linear(linear));
  value = register_module("value", Linear(linear));
}

torch::Tensor MultiHeadAttentionImpl::split_heads(const torch::Tensor& x) const {
  const int64_t h = options_.num_heads();
  return x.view({x.size(0), x.size(1), h, options_.embed_dim() / h}).transpose(1, 2);
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context,
                                              const torch::Tensor& mask, bool causal, torch::Tensor* weights,
                                              const torch::Tensor& query_shift) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options_.embed_dim(), "MultiHeadAttention: input must be (B,T,",
              options_.embed_dim(), "), got ", x.sizes());
  const torch::Tensor& source = context.defined() ? context : x;
  TORCH_CHECK(source.dim() == 3 && source.size(0) == x.size(0) && source.size(2) == options_.embed_dim(),
              "MultiHeadAttention: context must be (", x.size(0), ",S,", options_.embed_dim(), "), got ",
              source.sizes());
  torch::Tensor projected, keys, values;
  const bool fuse = x.is_cuda() ? fusions().qkv : fusions().qkv_cpu;
  if (fuse && !context.defined() && query->input_shared() && key->input_shared() && value->input_shared()) {
    // One GEMM reads x once and launches once for all three projections (and once for
    // the input gradient); the columns of the result are the three projections.
    const torch::Tensor weight = torch::cat({query->weight, key->weight, value->weight});
    const torch::Tensor bias = options_.bias() ? torch::cat({query->bias, key->bias, value->bias}) : torch::Tensor();
    const std::vector<torch::Tensor> parts = torch::linear(x, weight, bias).chunk(3, -1);
    projected = query->adapt_projection(x, parts[0]);
    keys = key->adapt_projection(x, parts[1]);
    values = value->adapt_projection(x, parts[2]);
  } else {
    projected = query->forward(x);
    keys = key->forward(source);
    values = value->forward(source);
  }
  if (query_shift.defined()) {
    TORCH_CHECK(query_shift.dim() == 2 && query_shift.size(0) == x.size(0) && query_shift.size(1) == options_.embed_dim(),
                "MultiHeadAttention: query_shift must be (", x.size(0), ",", options_.embed_dim(), "), got ",
                query_shift.sizes());
    projected = projected + query_shift.unsqueeze(1).to(projected.scalar_type());
  }
  const torch::Tensor q = split_heads(projected);
  torch::Tensor k = split_heads(keys);
  torch::Tensor v = split_heads(values);
  torch::Tensor full_mask = mask;
  if (prefix_) {
    auto [pk, pv] = prefix_->keys_values();
    const int64_t b = x.size(0), p = pk.size(0);
    TORCH_CHECK(pk.dim() == 2 && pk.size(1) == options_.embed_dim() && pv.sizes() == pk.sizes(),
                "MultiHeadAttention: prefix keys/values must be (P,", options_.embed_dim(), "), got ", pk.sizes(),
                " and ", pv.sizes());
    k = torch::cat({split_heads(pk.to(k.scalar_type()).unsqueeze(0).expand({b, p, pk.size(1)})), k}, 2);
    v = torch::cat({split_heads(pv.to(v.scalar_type()).unsqueeze(0).expand({b, p, pv.size(1)})), v}, 2);
    if (mask.defined()) {
      // Prefix keys are visible to every query: true (bool) or 0 (additive) in front.
      std::vector<int64_t> shape = mask.sizes().vec();
      shape.back() = p;
      const torch::Tensor visible = mask.scalar_type() == torch::kBool ? torch::ones(shape, mask.options())
                                                                       : torch::zeros(shape, mask.options());
      full_mask = torch::cat({visible.expand(shape), mask}, -1);
    }
  }
  const torch::Tensor out = attend(q, k, v, full_mask, causal, options_.dropout(), is_training(), weights);
  return out.transpose(1, 2).reshape({x.size(0), x.size(1), options_.embed_dim()});
}

}  // namespace attune::models
