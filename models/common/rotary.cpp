#include "models/common/rotary.h"

namespace attune::models {

RotaryTables rotary_tables(int64_t length, int64_t head_dim, double theta, const torch::Device& device,
                           torch::ScalarType dtype) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat).device(device);
  // 1 / theta^(2i/d): the int64 arange cast to float first, as compute_default_rope_parameters.
  const torch::Tensor exponent =
      torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kLong).device(device)).to(torch::kFloat) /
      static_cast<double>(head_dim);
  const torch::Tensor inv_freq = torch::reciprocal(torch::pow(theta, exponent));
  const torch::Tensor positions = torch::arange(length, f32);
  const torch::Tensor freqs = torch::outer(positions, inv_freq);
  const torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables) {
  const int64_t half = x.size(-1) / 2;
  const torch::Tensor rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * tables.cos + rotated * tables.sin;
}

}  // namespace attune::models
