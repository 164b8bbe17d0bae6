// Plain-loop and plain-tensor references the models tests compare against, plus a helper
// for checking UserError messages on Catch2 v2 and v3 alike.
#pragma once
#include "core/error.h"
#include "tests/common/errors.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace attune::testing {

inline const torch::TensorOptions kDouble = torch::TensorOptions().dtype(torch::kDouble);

// Same shape and equal within tol, compared in double.
inline bool close(const torch::Tensor& a, const torch::Tensor& b, double tol = 1e-10) {
  return a.sizes() == b.sizes() && torch::allclose(a.to(torch::kDouble), b.to(torch::kDouble), tol, tol);
}

// Kept under the models tests' name.
inline std::string user_error_message(const std::function<void()>& f) { return error_of(f); }

// Attention computed element by element, in double. mask: undefined, bool or additive,
// broadcastable to (B,H,T,S). A query whose keys are all masked averages all values
// uniformly (what masking with the lowest finite value gives).
inline torch::Tensor naive_attention(const torch::Tensor& q_in, const torch::Tensor& k_in, const torch::Tensor& v_in,
                                     const torch::Tensor& mask_in, bool causal, torch::Tensor* weights_out = nullptr) {
  const torch::Tensor q = q_in.to(torch::kDouble), k = k_in.to(torch::kDouble), v = v_in.to(torch::kDouble);
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), S = k.size(2), D = q.size(3);
  torch::Tensor mask;
  if (mask_in.defined()) mask = mask_in.expand({B, H, T, S}).contiguous();
  const bool boolean = mask.defined() && mask.scalar_type() == torch::kBool;
  torch::Tensor out = torch::zeros({B, H, T, D}, torch::kDouble);
  torch::Tensor weights = torch::zeros({B, H, T, S}, torch::kDouble);
  auto qa = q.accessor<double, 4>(), ka = k.accessor<double, 4>(), va = v.accessor<double, 4>();
  auto oa = out.accessor<double, 4>();
  auto wa = weights.accessor<double, 4>();
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> score(S);
        std::vector<bool> allowed(S, true);
        double best = -std::numeric_limits<double>::infinity();
        for (int64_t s = 0; s < S; ++s) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += qa[b][h][t][d] * ka[b][h][s][d];
          score[s] = dot * scale;
          if (mask.defined()) {
            if (boolean) {
              allowed[s] = mask[b][h][t][s].item<bool>();
            } else {
              score[s] += mask[b][h][t][s].item<double>();
            }
          }
          if (causal && s > t + (S - T)) allowed[s] = false;
          if (allowed[s]) best = std::max(best, score[s]);
        }
        const bool none = !std::isfinite(best);
        double total = 0;
        for (int64_t s = 0; s < S; ++s) {
          wa[b][h][t][s] = none ? 1.0 : (allowed[s] ? std::exp(score[s] - best) : 0.0);
          total += wa[b][h][t][s];
        }
        for (int64_t s = 0; s < S; ++s) {
          wa[b][h][t][s] /= total;
          for (int64_t d = 0; d < D; ++d) oa[b][h][t][d] += wa[b][h][t][s] * va[b][h][s][d];
        }
      }
    }
  }
  if (weights_out != nullptr) *weights_out = weights;
  return out;
}

// Multi-head self-attention from explicit projection weights: (B,T,E) -> (B,T,E).
inline torch::Tensor naive_multi_head(const torch::Tensor& x, const torch::Tensor& context,
                                      const torch::Tensor& wq, const torch::Tensor& bq, const torch::Tensor& wk,
                                      const torch::Tensor& bk, const torch::Tensor& wv, const torch::Tensor& bv,
                                      int64_t heads, const torch::Tensor& mask) {
  const torch::Tensor q = torch::matmul(x, wq.t()) + bq;
  const torch::Tensor k = torch::matmul(context, wk.t()) + bk;
  const torch::Tensor v = torch::matmul(context, wv.t()) + bv;
  const int64_t d = x.size(2) / heads;
  std::vector<torch::Tensor> per_head;
  for (int64_t h = 0; h < heads; ++h) {
    auto slice = [&](const torch::Tensor& t) { return t.narrow(2, h * d, d).unsqueeze(1); };
    torch::Tensor head_mask;
    if (mask.defined()) head_mask = mask.size(1) == 1 ? mask : mask.narrow(1, h, 1);
    per_head.push_back(naive_attention(slice(q), slice(k), slice(v), head_mask, false).squeeze(1));
  }
  return torch::cat(per_head, 2);
}

inline torch::Tensor layer_norm_ref(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                                    double eps) {
  const torch::Tensor mean = x.mean(-1, true);
  const torch::Tensor var = (x - mean).pow(2).mean(-1, true);
  return (x - mean) / torch::sqrt(var + eps) * w + b;
}

inline torch::Tensor gelu_erf_ref(const torch::Tensor& x) { return 0.5 * x * (1.0 + torch::erf(x / std::sqrt(2.0))); }

inline torch::Tensor gelu_tanh_ref(const torch::Tensor& x) {
  return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x.pow(3))));
}

}  // namespace attune::testing
