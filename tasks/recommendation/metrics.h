// Ranking metrics of next-item prediction. A case's rank is the number of candidate items
// scored strictly above its target plus the number tied with it (ties count against the
// model, so a constant scorer cannot look good).
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace attune::recommendation {

inline const std::vector<int64_t> kCutoffs = {5, 10, 20};

class RankingMetrics {
 public:
  // rank: 0 = the target is first.
  void add(int64_t rank);
  // {"cases", "mrr", "hr@5", "ndcg@5", ...} for the cutoffs; protocol names the candidates.
  nlohmann::json result(const std::string& protocol) const;
  int64_t cases() const { return static_cast<int64_t>(ranks_.size()); }

 private:
  std::vector<int64_t> ranks_;
};

// scores (B, C) over candidate columns; target (B) the target's column; excluded (B, C)
// bool, true for columns that are not candidates (never the target's). Returns (B) ranks.
torch::Tensor target_ranks(const torch::Tensor& scores, const torch::Tensor& target, const torch::Tensor& excluded);

}  // namespace attune::recommendation
