#include "tests/catch.h"

#include "data/batching.h"
#include "data/text/tokenizer.h"

#include <numeric>
#include <random>
#include <set>

namespace attune::batching_test {

int64_t padded_tokens(const std::vector<std::vector<int64_t>>& batches, const std::vector<int64_t>& lengths) {
  int64_t total = 0;
  for (const auto& b : batches) {
    int64_t longest = 0;
    for (int64_t i : b) longest = std::max(longest, lengths[i]);
    total += longest * static_cast<int64_t>(b.size());
  }
  return total;
}

TEST_CASE("seeded permutations are permutations, reproducible, and seed-dependent", "[batching]") {
  const auto a = data::seeded_permutation(1000, 7);
  const auto b = data::seeded_permutation(1000, 7);
  const auto c = data::seeded_permutation(1000, 8);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> expected(1000);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(sorted == expected);
  // Pinned values: the order must not change across compilers or standard libraries.
  CHECK(data::seeded_permutation(8, 42) == std::vector<int64_t>{7, 0, 5, 1, 2, 4, 3, 6});
  CHECK(data::seeded_permutation(0, 1).empty());
}

TEST_CASE("batches cover every example once; bucketing cuts padding", "[batching]") {
  std::mt19937 rng(3);
  std::vector<int64_t> lengths(2000);
  for (auto& l : lengths) l = 5 + static_cast<int64_t>(rng() % 250);
  for (bool bucket : {false, true}) {
    const auto batches = data::make_batches(lengths, 32, true, bucket, 11);
    std::multiset<int64_t> seen;
    for (const auto& b : batches) {
      CHECK(b.size() <= 32);
      seen.insert(b.begin(), b.end());
    }
    CHECK(seen.size() == lengths.size());
    CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == lengths.size());
    CHECK(batches == data::make_batches(lengths, 32, true, bucket, 11));
    CHECK(batches != data::make_batches(lengths, 32, true, bucket, 12));
  }
  const int64_t plain = padded_tokens(data::make_batches(lengths, 32, true, false, 11), lengths);
  const int64_t bucketed = padded_tokens(data::make_batches(lengths, 32, true, true, 11), lengths);
  CHECK(bucketed < plain * 0.7);
  // Unshuffled, unbucketed: in order.
  const auto ordered = data::make_batches({1, 2, 3, 4, 5}, 2, false, false, 0);
  CHECK(ordered == std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}});
}

TEST_CASE("collate pads to the longest sequence and masks the padding", "[batching]") {
  text::Encoding a{{2, 10, 11, 3}, {0, 0, 0, 0}};
  text::Encoding b{{2, 12, 3, 13, 3}, {0, 0, 0, 1, 1}};
  const auto batch = data::collate({&a, &b}, 0);
  CHECK(batch.input_ids.sizes() == torch::IntArrayRef({2, 5}));
  CHECK(torch::equal(batch.input_ids, torch::tensor({{2, 10, 11, 3, 0}, {2, 12, 3, 13, 3}})));
  CHECK(torch::equal(batch.token_type_ids, torch::tensor({{0, 0, 0, 0, 0}, {0, 0, 0, 1, 1}})));
  CHECK(torch::equal(batch.attention_mask, torch::tensor({{1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}})));
}

}  // namespace attune::batching_test
