// DeBERTa's relative positions: the (query, key) distance matrix and its log buckets,
// computed with the same tensor operations (and float32 rounding) as transformers'
// build_relative_position and make_log_bucket_position, so bucket edges agree exactly.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace attune::models {

// relative_pos (any integer dtype) -> float32 bucketed positions: distances within
// bucket_size / 2 stay as they are, longer ones are mapped logarithmically so that
// max_position - 1 lands near bucket_size - 1 (sign kept).
torch::Tensor make_log_bucket_position(const torch::Tensor& relative_pos, int64_t bucket_size, int64_t max_position);

// distances (int64, any shape) as the encoder's relative positions: log-bucketed when
// bucket_size > 0 and max_position > 0, else unchanged; int64.
torch::Tensor relative_positions_of(const torch::Tensor& distances, int64_t bucket_size, int64_t max_position);

// (1, query_size, key_size) int64 with [0, q, k] = q - k, log-bucketed when bucket_size > 0
// and max_position > 0.
torch::Tensor build_relative_position(int64_t query_size, int64_t key_size, int64_t bucket_size,
                                      int64_t max_position, const torch::Device& device = torch::kCPU);

}  // namespace attune::models
