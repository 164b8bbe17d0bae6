#include "data/batching.h"

#include "data/text/tokenizer.h"

#include <cmath>
#include <algorithm>
#include <random>

namespace attune::data {

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    // Rejection sampling keeps every j equally likely.
    const uint64_t range = static_cast<uint64_t>(i) + 1;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t x;
    do {
      x = rng();
    } while (x >= limit);
    std::swap(order[i], order[static_cast<int64_t>(x % range)]);
  }
  return order;
}

std::vector<char> held_out_mask(int64_t n, double fraction, uint64_t seed) {
  const int64_t k = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (k < 1 || k >= n) return {};
  std::vector<char> held(n, 0);
  const std::vector<int64_t> perm = seeded_permutation(n, seed);
  for (int64_t i = 0; i < k; ++i) held[perm[i]] = 1;
  return held;
}

namespace {

// 0..n-1, or a seeded permutation of it.
std::vector<int64_t> visiting_order(int64_t n, bool shuffle, uint64_t seed) {
  if (shuffle) return seeded_permutation(n, seed);
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  return order;
}

// Length-sorted batches come out in a random order (a seed of its own, so it does not
// repeat the example permutation).
void shuffle_batch_order(std::vector<std::vector<int64_t>>& batches, uint64_t seed) {
  const auto batch_order = seeded_permutation(static_cast<int64_t>(batches.size()), seed ^ 0x5bd1e995ULL);
  std::vector<std::vector<int64_t>> shuffled;
  shuffled.reserve(batches.size());
  for (int64_t b : batch_order) shuffled.push_back(std::move(batches[b]));
  batches = std::move(shuffled);
}

}  // namespace

std::vector<std::vector<int64_t>> make_batches(const std::vector<int64_t>& lengths, int64_t batch_size, bool shuffle,
                                               bool bucket, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> order = visiting_order(n, shuffle, seed);
  if (bucket) {
    const int64_t window = std::max<int64_t>(1, 50 * batch_size);
    for (int64_t start = 0; start < n; start += window) {
      const auto end = order.begin() + std::min(n, start + window);
      std::stable_sort(order.begin() + start, end, [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (int64_t start = 0; start < n; start += batch_size) {
    batches.emplace_back(order.begin() + start, order.begin() + std::min(n, start + batch_size));
  }
  if (bucket && shuffle) shuffle_batch_order(batches, seed);
  return batches;
}

std::vector<std::vector<int64_t>> make_token_batches(const std::vector<int64_t>& source_lengths,
                                                     const std::vector<int64_t>& target_lengths, int64_t max_tokens,
                                                     bool shuffle, uint64_t seed) {
  TORCH_CHECK(source_lengths.size() == target_lengths.size(), "make_token_batches: length lists differ");
  TORCH_CHECK(max_tokens > 0, "make_token_batches: max_tokens must be positive");
  const int64_t n = static_cast<int64_t>(source_lengths.size());
  std::vector<int64_t> order = visiting_order(n, shuffle, seed);
  auto length = [&](int64_t i) { return std::max(source_lengths[i], target_lengths[i]); };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return length(a) < length(b); });
  std::vector<std::vector<int64_t>> batches;
  std::vector<int64_t> current;
  int64_t longest = 0;
  for (int64_t i : order) {
    const int64_t l = std::max<int64_t>(1, length(i));
    if (!current.empty() && static_cast<int64_t>(current.size() + 1) * std::max(longest, l) > max_tokens) {
      batches.push_back(std::move(current));
      current.clear();
      longest = 0;
    }
    current.push_back(i);
    longest = std::max(longest, l);
  }
  if (!current.empty()) batches.push_back(std::move(current));
  if (shuffle) shuffle_batch_order(batches, seed);
  return batches;
}

TokenBatch collate(const std::vector<const text::Encoding*>& encodings, int64_t pad_id) {
  const int64_t b = static_cast<int64_t>(encodings.size());
  int64_t t = 1;
  for (const auto* e : encodings) t = std::max<int64_t>(t, static_cast<int64_t>(e->ids.size()));
  TokenBatch out;
  out.input_ids = torch::full({b, t}, pad_id, torch::kLong);
  out.token_type_ids = torch::zeros({b, t}, torch::kLong);
  out.attention_mask = torch::zeros({b, t}, torch::kLong);
  auto ids = out.input_ids.accessor<int64_t, 2>();
  auto types = out.token_type_ids.accessor<int64_t, 2>();
  auto mask = out.attention_mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& e = *encodings[i];
    for (size_t j = 0; j < e.ids.size(); ++j) {
      ids[i][j] = e.ids[j];
      types[i][j] = j < e.type_ids.size() ? e.type_ids[j] : 0;
      mask[i][j] = 1;
    }
    if (static_cast<int64_t>(e.ids.size()) < t) out.padded = true;
  }
  return out;
}

}  // namespace attune::data
