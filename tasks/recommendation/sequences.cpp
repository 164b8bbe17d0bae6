#include "tasks/recommendation/sequences.h"

#include "core/error.h"

#include <algorithm>
#include <numeric>

namespace attune::recommendation {

void Catalog::add_item(const std::string& item) {
  if (items.empty()) items.push_back("");
  if (item_index.emplace(item, static_cast<int64_t>(items.size())).second) items.push_back(item);
}

void Catalog::add_user(const std::string& user) {
  if (user_index.emplace(user, static_cast<int64_t>(users.size())).second) users.push_back(user);
}

UserSequences build_sequences(const data::InteractionLog& log, const SequenceOptions& options) {
  // Rows kept, grouped by user in order of first appearance.
  std::unordered_map<std::string, int64_t> user_slot;
  std::vector<std::vector<size_t>> by_user;
  for (size_t r = 0; r < log.rows.size(); ++r) {
    if (log.rows[r].rating < options.min_rating) continue;
    auto [it, added] = user_slot.emplace(log.rows[r].user, static_cast<int64_t>(by_user.size()));
    if (added) by_user.emplace_back();
    by_user[it->second].push_back(r);
  }
  for (auto& rows : by_user) {
    std::stable_sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return log.rows[a].time < log.rows[b].time; });
  }
  // k-core: dropping a user lowers item counts and the reverse, so repeat to a fixed point.
  std::unordered_map<std::string, int64_t> item_count;
  for (const auto& rows : by_user)
    for (size_t r : rows) ++item_count[log.rows[r].item];
  std::vector<bool> user_alive(by_user.size(), true);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t u = 0; u < by_user.size(); ++u) {
      if (!user_alive[u]) continue;
      auto& rows = by_user[u];
      const auto dead_item = [&](size_t r) { return item_count[log.rows[r].item] < options.k_core; };
      if (std::any_of(rows.begin(), rows.end(), dead_item)) {
        rows.erase(std::remove_if(rows.begin(), rows.end(), dead_item), rows.end());
        changed = true;
      }
      if (static_cast<int64_t>(rows.size()) < options.k_core) {
        for (size_t r : rows) --item_count[log.rows[r].item];
        rows.clear();
        user_alive[u] = false;
        changed = true;
      }
    }
  }
  UserSequences out;
  for (size_t u = 0; u < by_user.size(); ++u) {
    if (!user_alive[u] || by_user[u].empty()) continue;
    out.catalog.add_user(log.rows[by_user[u].front()].user);
    std::vector<int64_t> sequence;
    for (size_t r : by_user[u]) {
      out.catalog.add_item(log.rows[r].item);
      sequence.push_back(out.catalog.item_index.at(log.rows[r].item));
    }
    out.interactions += static_cast<int64_t>(sequence.size());
    out.sequences.push_back(std::move(sequence));
  }
  if (out.sequences.empty()) {
    fail(log.path, "no user has " + std::to_string(options.k_core) +
                       " or more interactions after filtering (lower data.k_core or data.min_rating)");
  }
  return out;
}

LeaveOneOut leave_one_out(const std::vector<std::vector<int64_t>>& sequences) {
  LeaveOneOut split;
  split.train.reserve(sequences.size());
  for (size_t u = 0; u < sequences.size(); ++u) {
    const auto& s = sequences[u];
    if (s.size() < 3) {
      split.train.push_back(s);
      continue;
    }
    const auto user = static_cast<int64_t>(u);
    split.train.emplace_back(s.begin(), s.end() - 2);
    split.valid.push_back({user, s[s.size() - 2], split.train.back(), {}});
    split.test.push_back({user, s.back(), std::vector<int64_t>(s.begin(), s.end() - 1), {}});
  }
  return split;
}

std::vector<int64_t> last_n(const std::vector<int64_t>& items, int64_t n) {
  if (static_cast<int64_t>(items.size()) <= n) return items;
  return std::vector<int64_t>(items.end() - n, items.end());
}

}  // namespace attune::recommendation
