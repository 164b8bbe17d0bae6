// From an interaction log to per-user item sequences: ID remapping, rating threshold,
// k-core filtering, ordering by time (stable for ties) and the leave-one-out split.
#pragma once
#include "data/readers/interactions.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace attune::recommendation {

// Items are numbered 1..N in order of first appearance (0 is padding); users 0..U-1.
struct Catalog {
  std::vector<std::string> items;  // items[0] = "" (padding)
  std::vector<std::string> users;
  std::unordered_map<std::string, int64_t> item_index;
  std::unordered_map<std::string, int64_t> user_index;
  int64_t num_items() const { return static_cast<int64_t>(items.size()) - 1; }
  void add_item(const std::string& item);
  void add_user(const std::string& user);
};

struct SequenceOptions {
  int64_t k_core = 5;         // users and items with fewer interactions are dropped, repeatedly
  double min_rating = -1e300;  // interactions rated below it are dropped first
};

struct UserSequences {
  Catalog catalog;
  std::vector<std::vector<int64_t>> sequences;  // per user, in time order
  int64_t interactions = 0;
};

// Orders each user's interactions by time (file order among equal times) and drops
// rated-below-threshold interactions, then users and items under k_core until none is.
UserSequences build_sequences(const data::InteractionLog& log, const SequenceOptions& options);

// The leave-one-out split: the last item of each user is the test target, the one before
// it the validation target, the rest is for training. Users with fewer than three items
// train only.
struct EvalCase {
  int64_t user = 0;
  int64_t target = 0;
  std::vector<int64_t> history;   // in time order
  std::vector<int64_t> features;  // user feature ids (run_data.h); empty without
};
struct LeaveOneOut {
  std::vector<std::vector<int64_t>> train;  // per user
  std::vector<EvalCase> valid, test;
};
LeaveOneOut leave_one_out(const std::vector<std::vector<int64_t>>& sequences);

// The last `n` items (all of them when shorter).
std::vector<int64_t> last_n(const std::vector<int64_t>& items, int64_t n);

}  // namespace attune::recommendation
