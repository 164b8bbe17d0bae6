#include "models/attention/rollout.h"

namespace attune::models {

torch::Tensor attention_rollout(const std::vector<torch::Tensor>& layers, double residual) {
  TORCH_CHECK(!layers.empty(), "attention_rollout: no layers");
  const int64_t t = layers.front().size(-1);
  const torch::Tensor eye = torch::eye(t, layers.front().options().dtype(torch::kDouble));
  torch::Tensor rollout = eye;
  for (const auto& a : layers) {
    TORCH_CHECK(a.dim() == 3 && a.size(1) == t && a.size(2) == t, "attention_rollout: expected (heads, T, T), got ",
                a.sizes());
    torch::Tensor mixed = residual * eye + (1.0 - residual) * a.to(torch::kDouble).mean(0);
    mixed = mixed / mixed.sum(-1, true);
    rollout = torch::matmul(mixed, rollout);
  }
  return rollout.to(torch::kFloat);
}

}  // namespace attune::models
