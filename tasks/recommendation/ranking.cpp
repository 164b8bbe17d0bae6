#include "tasks/recommendation/ranking.h"

#include "tasks/recommendation/metrics.h"

#include <random>
#include <unordered_set>

namespace attune::recommendation {

const std::vector<std::string>& protocols() {
  static const std::vector<std::string> names = {"full", "sampled100"};
  return names;
}

nlohmann::json rank_cases(const std::vector<EvalCase>& cases, const CaseScorer& scorer, int64_t num_items,
                          int64_t batch_size, const std::string& protocol, uint64_t seed,
                          const engine::EvalShard& shard) {
  TORCH_CHECK(protocol == "full" || protocol == "sampled100", "rank_cases: unknown protocol ", protocol);
  torch::NoGradGuard no_grad;
  const int64_t width = num_items + 2;
  std::mt19937_64 rng(seed);
  // The target's rank in each case (0 where another rank scores it, until combined).
  torch::Tensor ranks = torch::zeros({static_cast<int64_t>(cases.size())}, torch::kLong);
  for (size_t from = 0; from < cases.size(); from += static_cast<size_t>(batch_size)) {
    std::vector<const EvalCase*> batch;
    for (size_t i = from; i < std::min(cases.size(), from + static_cast<size_t>(batch_size)); ++i) batch.push_back(&cases[i]);
    const auto b = static_cast<int64_t>(batch.size());
    torch::Tensor excluded = torch::zeros({b, width}, torch::kBool);
    auto ex = excluded.accessor<bool, 2>();
    std::vector<int64_t> targets;
    for (int64_t r = 0; r < b; ++r) {
      const EvalCase& c = *batch[r];
      targets.push_back(c.target);
      ex[r][0] = true;
      ex[r][width - 1] = true;  // [MASK]
      if (protocol == "full") {
        for (int64_t item : c.history) ex[r][item] = true;
      } else {
        std::unordered_set<int64_t> seen(c.history.begin(), c.history.end());
        seen.insert(c.target);
        for (int64_t i = 0; i < width; ++i) ex[r][i] = true;
        // Distinct negatives when the catalogue has enough unseen items.
        const int64_t unseen = num_items - static_cast<int64_t>(seen.size());
        const int64_t wanted = std::min<int64_t>(100, std::max<int64_t>(0, unseen));
        std::uniform_int_distribution<int64_t> pick(1, num_items);
        for (int64_t drawn = 0; drawn < wanted;) {
          const int64_t item = pick(rng);
          if (seen.count(item) || !ex[r][item]) continue;
          ex[r][item] = false;
          ++drawn;
        }
      }
      ex[r][c.target] = false;
    }
    if (!shard.owns(static_cast<int64_t>(from) / batch_size)) continue;
    ranks.narrow(0, static_cast<int64_t>(from), b)
        .copy_(target_ranks(scorer(batch).cpu(), torch::tensor(targets), excluded).to(torch::kLong));
  }
  ranks = shard.combine(ranks).contiguous();
  RankingMetrics metrics;
  const auto rk = ranks.accessor<int64_t, 1>();
  for (int64_t i = 0; i < ranks.size(0); ++i) metrics.add(rk[i]);
  return metrics.result(protocol);
}

}  // namespace attune::recommendation
