// The only place that knows which LibTorch it is compiled against. attune builds
// against Debian's LibTorch 1.13 (CPU) and PyTorch 2.x's LibTorch (CUDA); every
// difference between the two lives here.
#pragma once
#include <torch/torch.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#define ATTUNE_TORCH2 1
#include <ATen/autocast_mode.h>
#else
#define ATTUNE_TORCH2 0
#endif

namespace attune::compat {

// True when at::scaled_dot_product_attention (flash / memory-efficient kernels) exists.
constexpr bool kHasFusedAttention = ATTUNE_TORCH2;

// Fused attention when available. `mask` is boolean (true = may attend) or additive,
// broadcastable to (B, H, T, S). Callers on 1.13 must use their own math path.
inline torch::Tensor fused_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v,
                                     const c10::optional<torch::Tensor>& mask,
                                     double dropout_p, bool is_causal) {
#if ATTUNE_TORCH2
  return at::scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal);
#else
  (void)q; (void)k; (void)v; (void)mask; (void)dropout_p; (void)is_causal;
  TORCH_CHECK(false, "fused attention needs LibTorch 2.x");
#endif
}

// bf16 autocast for the scope of the guard (CUDA on LibTorch 2.x); a no-op elsewhere.
class AutocastGuard {
 public:
  AutocastGuard(const torch::Device& device, bool enabled) {
#if ATTUNE_TORCH2
    active_ = enabled && device.is_cuda();
    if (active_) {
      previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
      previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
      at::autocast::set_autocast_enabled(at::kCUDA, true);
      at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
      at::autocast::increment_nesting();
    }
#else
    (void)device; (void)enabled;
#endif
  }
  ~AutocastGuard() {
#if ATTUNE_TORCH2
    if (active_) {
      if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
      at::autocast::set_autocast_enabled(at::kCUDA, previous_);
      at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
    }
#endif
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool previous_ = false;
#if ATTUNE_TORCH2
  at::ScalarType previous_dtype_ = at::kBFloat16;
#endif
};

constexpr bool kHasAutocast = ATTUNE_TORCH2;

// True while CUDA autocast to bfloat16 is on (an AutocastGuard for CUDA is in scope).
inline bool autocast_bf16_active() {
#if ATTUNE_TORCH2
  return at::autocast::is_autocast_enabled(at::kCUDA) && at::autocast::get_autocast_dtype(at::kCUDA) == at::kBFloat16;
#else
  return false;
#endif
}

// LayerNorm that returns x's own dtype under autocast, which would otherwise compute and
// return float32: the kernel still keeps its statistics in float32, and the affine
// parameters go in as autocast's cached casts to x's dtype.
inline torch::Tensor layer_norm_in_dtype(const torch::Tensor& x, at::IntArrayRef shape, const torch::Tensor& weight,
                                         const torch::Tensor& bias, double eps) {
#if ATTUNE_TORCH2
  const auto device = x.device().type();
  const torch::Tensor w = weight.defined() ? at::autocast::cached_cast(x.scalar_type(), weight, device) : weight;
  const torch::Tensor b = bias.defined() ? at::autocast::cached_cast(x.scalar_type(), bias, device) : bias;
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCUDA);
  return at::layer_norm(x, shape, w, b, eps);
#else
  return at::layer_norm(x, shape, weight.to(x.scalar_type()), bias.defined() ? bias.to(x.scalar_type()) : bias, eps);
#endif
}

// True when ATen has the multi-tensor AdamW kernel (at::_fused_adamw_, CPU and CUDA).
constexpr bool kHasFusedAdamW = ATTUNE_TORCH2;

// One AdamW update of every tensor in the lists, as torch.optim.AdamW(fused=True) does it.
// state_steps are float32 scalars on the parameters' device; as in torch.optim, they are
// advanced here, before the kernel reads them (the kernel itself does not count). `lr` is
// a double, or a float32 device scalar: a captured CUDA graph then follows the schedule,
// as the scalar is rewritten before each replay.
template <typename Rate>
inline void fused_adamw(at::TensorList params, at::TensorList grads, at::TensorList exp_avgs,
                        at::TensorList exp_avg_sqs, at::TensorList state_steps, const Rate& lr, double beta1,
                        double beta2, double weight_decay, double eps) {
#if ATTUNE_TORCH2
  at::_foreach_add_(state_steps, 1);
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, state_steps, lr, beta1, beta2,
                    weight_decay, eps, /*amsgrad=*/false, /*maximize=*/false);
#else
  (void)params; (void)grads; (void)exp_avgs; (void)exp_avg_sqs; (void)state_steps;
  (void)lr; (void)beta1; (void)beta2; (void)weight_decay; (void)eps;
  TORCH_CHECK(false, "fused AdamW needs LibTorch 2.x");
#endif
}

// Turns autocast's cache of cast weights on or off and returns the previous setting.
// CUDA graph capture runs without it, as torch.cuda.graph requires: cached casts made
// during a capture would live in the graph's memory after it.
inline bool set_autocast_cache(bool enabled) {
#if ATTUNE_TORCH2
  const bool previous = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(enabled);
  return previous;
#else
  (void)enabled;
  return false;
#endif
}

// Multiplies every tensor by a scalar tensor without reading it back to the host
// (LibTorch 1.13's _foreach_mul_ takes host scalars only, so it loops there).
inline void foreach_mul_(at::TensorList tensors, const torch::Tensor& factor) {
#if ATTUNE_TORCH2
  at::_foreach_mul_(tensors, factor);
#else
  for (const auto& t : tensors) t.mul_(factor);
#endif
}

// Quantized engines to try for int8 bundles, best first, by name: FBGEMM, oneDNN,
// PyTorch 2's "x86" (which picks FBGEMM or oneDNN per operator, and measured slower than
// FBGEMM alone: docs/benchmarks.md), QNNPACK.
inline std::vector<std::pair<at::QEngine, const char*>> int8_engine_candidates() {
  std::vector<std::pair<at::QEngine, const char*>> engines;
  engines.emplace_back(at::QEngine::FBGEMM, "fbgemm");
  engines.emplace_back(at::QEngine::ONEDNN, "onednn");
#if ATTUNE_TORCH2
  engines.emplace_back(at::QEngine::X86, "x86");
#endif
  engines.emplace_back(at::QEngine::QNNPACK, "qnnpack");
  return engines;
}

}  // namespace attune::compat
