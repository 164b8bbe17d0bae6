#include "tasks/recommendation/baselines.h"

#include <algorithm>

namespace attune::recommendation {
namespace {

torch::Tensor distinct_indicator(const std::vector<const std::vector<int64_t>*>& rows, int64_t width) {
  torch::Tensor x = torch::zeros({static_cast<int64_t>(rows.size()), width});
  auto a = x.accessor<float, 2>();
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t item : *rows[r]) a[r][item] = 1.0f;
  return x;
}

}  // namespace

torch::Tensor popularity(const std::vector<std::vector<int64_t>>& train, int64_t num_items) {
  torch::Tensor counts = torch::zeros({num_items + 2});
  auto a = counts.accessor<float, 1>();
  for (const auto& s : train)
    for (int64_t item : s) a[item] += 1.0f;
  return counts;
}

torch::Tensor item_similarity(const std::vector<std::vector<int64_t>>& train, int64_t num_items, int64_t neighbors) {
  const int64_t n = num_items + 2;
  torch::Tensor co = torch::zeros({n, n});
  // Users in blocks, so the dense indicator stays small.
  const int64_t block = 2048;
  for (size_t from = 0; from < train.size(); from += block) {
    std::vector<const std::vector<int64_t>*> rows;
    for (size_t u = from; u < std::min(train.size(), from + block); ++u) rows.push_back(&train[u]);
    const torch::Tensor x = distinct_indicator(rows, n);
    co += torch::matmul(x.t(), x);
  }
  const torch::Tensor norm = co.diagonal().clamp_min(1.0).sqrt();
  torch::Tensor sim = co / norm.unsqueeze(0) / norm.unsqueeze(1);
  sim.fill_diagonal_(0.0);
  if (neighbors > 0 && neighbors < n) {
    const auto top = sim.topk(neighbors, 1);
    sim = torch::zeros_like(sim).scatter_(1, std::get<1>(top), std::get<0>(top));
  }
  return sim;
}

torch::Tensor knn_scores(const torch::Tensor& similarity, const std::vector<const std::vector<int64_t>*>& histories) {
  return torch::matmul(distinct_indicator(histories, similarity.size(0)).to(similarity.device()), similarity);
}

}  // namespace attune::recommendation
