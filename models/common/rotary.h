// Rotary position embeddings as transformers' default rope: the GPT-NeoX layout, where the
// second half of each head's dimensions rotates against the first (rotate_half).
#pragma once
#include <torch/torch.h>

namespace attune::models {

struct RotaryTables {
  torch::Tensor cos, sin;  // (T, head_dim)
};

// Positions 0..length-1 at base `theta`, computed in float32 as transformers computes them,
// then cast to dtype.
RotaryTables rotary_tables(int64_t length, int64_t head_dim, double theta, const torch::Device& device,
                           torch::ScalarType dtype);
// x (B,H,T,D) rotated by position: x * cos + rotate_half(x) * sin.
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables);

}  // namespace attune::models
