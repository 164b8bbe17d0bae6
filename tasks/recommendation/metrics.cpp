#include "tasks/recommendation/metrics.h"

#include <cmath>
#include <limits>
#include <string>

namespace attune::recommendation {

void RankingMetrics::add(int64_t rank) { ranks_.push_back(rank); }

nlohmann::json RankingMetrics::result(const std::string& protocol) const {
  nlohmann::json m = {{"protocol", protocol}, {"cases", ranks_.size()}};
  const double n = std::max<double>(1.0, static_cast<double>(ranks_.size()));
  double mrr = 0.0;
  for (int64_t r : ranks_) mrr += 1.0 / static_cast<double>(r + 1);
  m["mrr"] = mrr / n;
  for (int64_t k : kCutoffs) {
    double hits = 0.0, ndcg = 0.0;
    for (int64_t r : ranks_) {
      if (r >= k) continue;
      hits += 1.0;
      ndcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    }
    m["hr@" + std::to_string(k)] = hits / n;
    m["ndcg@" + std::to_string(k)] = ndcg / n;
  }
  return m;
}

torch::Tensor target_ranks(const torch::Tensor& scores, const torch::Tensor& target, const torch::Tensor& excluded) {
  // A NaN score is the worst score, not a free pass past every comparison.
  const float lowest = std::numeric_limits<float>::lowest();
  const torch::Tensor s = torch::nan_to_num(scores.to(torch::kFloat), lowest, lowest, lowest);
  const torch::Tensor t = target.to(s.device()).view({-1, 1});
  const torch::Tensor target_score = s.gather(1, t);
  torch::Tensor ahead = (s >= target_score).logical_and(excluded.to(s.device()).logical_not());
  // The target itself is counted by >=; it is not ahead of itself.
  return ahead.sum(1) - 1;
}

}  // namespace attune::recommendation
