// How many numbers a module trains or holds: run logs, manifests, benchmarks.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace attune::models {

// Elements of every parameter (trainable_only: of those with requires_grad).
inline int64_t parameter_count(const torch::nn::Module& module, bool trainable_only = false) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) {
    if (!trainable_only || p.requires_grad()) n += p.numel();
  }
  return n;
}

}  // namespace attune::models
