// Turning tokenized examples into batches: seeded shuffling that is the same on every
// platform, length bucketing to cut padding, and dynamic padding.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attune::text {
struct Encoding;
}

namespace attune::data {

// A permutation of 0..n-1 from std::mt19937_64 and our own Fisher-Yates (std::shuffle
// and the std distributions differ between standard libraries).
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

// A held-out split: round(fraction * n) of 0..n-1 marked 1, chosen by seeded_permutation.
// Empty when that would hold out nothing or everything (callers say why in their terms).
std::vector<char> held_out_mask(int64_t n, double fraction, uint64_t seed);

// Batches of example indices; a pure function of its arguments. With `bucket`, the
// (shuffled) examples are sorted by length inside windows of 50 batches, cut into
// batches, and the batch order is shuffled again, so batches hold similar lengths
// while the order stays random. The last batch may be smaller.
std::vector<std::vector<int64_t>> make_batches(const std::vector<int64_t>& lengths, int64_t batch_size, bool shuffle,
                                               bool bucket, uint64_t seed);

// Batches cut by size rather than count: examples sorted by length (max of source and
// target; ties in shuffled order), then cut greedily so that examples x longest length
// (the padded tokens of the batch) stays within max_tokens; with `shuffle`, the batch
// order is shuffled. An example longer than max_tokens is a batch of its own. A pure
// function of its arguments.
std::vector<std::vector<int64_t>> make_token_batches(const std::vector<int64_t>& source_lengths,
                                                     const std::vector<int64_t>& target_lengths, int64_t max_tokens,
                                                     bool shuffle, uint64_t seed);

struct TokenBatch {
  torch::Tensor input_ids;       // int64 (B, T), T = longest in the batch
  torch::Tensor token_type_ids;  // int64 (B, T)
  torch::Tensor attention_mask;  // int64 (B, T), 1 = real token
  torch::Tensor context;         // float (B, C) outside context of each example, or undefined
  bool padded = false;           // some sequence is shorter than T (known on the host, so
                                 // models skip the mask, and its cost, when none is)
};

TokenBatch collate(const std::vector<const text::Encoding*>& encodings, int64_t pad_id);

}  // namespace attune::data
