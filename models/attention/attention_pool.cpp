#include "models/attention/attention_pool.h"

namespace attune::models {

AttentionPoolOutput attention_pool(const torch::Tensor& hidden, const torch::Tensor& real, const torch::Tensor& query,
                                   const AttentionPoolOptions& options) {
  AttentionPoolOutput out;
  torch::Tensor scores = torch::matmul(hidden.to(torch::kFloat), query.to(torch::kFloat)) / options.temperature();
  if (real.defined()) scores = scores.masked_fill(real.logical_not(), -1e9);
  out.weights = torch::softmax(scores, 1);
  out.pooled = torch::matmul(out.weights.unsqueeze(1).to(hidden.scalar_type()), hidden).squeeze(1);
  if (options.entropy_weight() > 0.0) {
    const torch::Tensor entropy = -(out.weights * torch::log(out.weights.clamp_min(1e-12))).sum(1);
    const torch::Tensor count = real.defined() ? real.sum(1).to(torch::kFloat)
                                               : torch::full({hidden.size(0)}, static_cast<double>(hidden.size(1)),
                                                             torch::TensorOptions().device(hidden.device()));
    const torch::Tensor most = torch::log(count.clamp_min(2.0));
    out.regularizer = options.entropy_weight() * (entropy / most - options.entropy_target()).pow(2).mean();
  }
  return out;
}

}  // namespace attune::models
