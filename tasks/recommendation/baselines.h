// The two baselines every recommender table needs: most-popular, and item-kNN with
// cosine similarity of item co-occurrence (items seen by the same users).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attune::recommendation {

// (num_items + 2) interaction counts over the training sequences.
torch::Tensor popularity(const std::vector<std::vector<int64_t>>& train, int64_t num_items);

// (num_items + 2)^2 cosine similarity of the users-by-items 0/1 matrix's columns, with a
// zero diagonal; neighbors > 0 keeps each item's top `neighbors` similarities only.
torch::Tensor item_similarity(const std::vector<std::vector<int64_t>>& train, int64_t num_items, int64_t neighbors);

// Scores (B, num_items + 2) of histories: the sum of their distinct items' similarity rows.
torch::Tensor knn_scores(const torch::Tensor& similarity, const std::vector<const std::vector<int64_t>*>& histories);

}  // namespace attune::recommendation
