#include "tasks/recommendation/recommend.h"

#include "core/error.h"
#include "core/files.h"

#include <algorithm>
#include <limits>

namespace attune::recommendation {
namespace {

std::string item_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

Request parse_request(const nlohmann::json& j, const Catalog& catalog, const RunData* run, int64_t default_k,
                      const std::string& where) {
  if (!j.is_object()) fail(where, run ? "expected an object with \"user\" or \"history\"" : "expected an object with \"history\"");
  Request r;
  r.k = default_k;
  EvalCase& c = r.query;
  if (j.contains("user")) {
    const std::string user = item_text(j["user"]);
    if (!run) fail(where, "\"user\": a bundle holds no user histories (give \"history\")");
    const auto it = catalog.user_index.find(user);
    if (it == catalog.user_index.end()) fail(where, "unknown user '" + user + "' (give a \"history\" instead)");
    c.user = it->second;
    c.history = run->sequences[it->second];
    if (!run->features.per_user.empty()) c.features = run->features.per_user[it->second];
  } else if (j.contains("history")) {
    if (!j["history"].is_array()) fail(where, "\"history\" must be a list of item ids");
    for (const auto& v : j["history"]) {
      const std::string item = item_text(v);
      const auto it = catalog.item_index.find(item);
      if (it == catalog.item_index.end()) fail(where, "unknown item '" + item + "' in \"history\" (not in the run's catalogue)");
      c.history.push_back(it->second);
    }
    // Without "features" the context term is left out (ids 0), as for a user with none.
    if (run && j.contains("features")) c.features = run->features.encode(j["features"], where);
    else if (run) c.features.assign(run->features.columns.size(), 0);
  } else {
    fail(where, run ? "expected \"user\" or \"history\"" : "expected \"history\"");
  }
  if (c.history.empty()) fail(where, "empty history: nothing to recommend from");
  if (j.contains("exclude")) {
    if (!j["exclude"].is_array()) fail(where, "\"exclude\" must be a list of item ids");
    for (const auto& v : j["exclude"]) {
      const auto it = catalog.item_index.find(item_text(v));
      if (it != catalog.item_index.end()) r.exclude.push_back(it->second);
    }
  } else {
    r.exclude = c.history;
  }
  if (j.contains("k")) {
    if (!j["k"].is_number_integer() || j["k"].get<int64_t>() < 1) fail(where, "\"k\" must be an integer >= 1");
    r.k = j["k"].get<int64_t>();
  }
  return r;
}

std::vector<nlohmann::json> top_items(const torch::Tensor& all, const std::vector<Request>& requests,
                                      const Catalog& catalog) {
  torch::Tensor scores = all.to(torch::kCPU, torch::kFloat).contiguous().clone();
  const float lowest = std::numeric_limits<float>::lowest();
  auto s = scores.accessor<float, 2>();
  int64_t most = 1;
  for (size_t r = 0; r < requests.size(); ++r) {
    s[r][0] = s[r][scores.size(1) - 1] = lowest;  // padding and [MASK]
    for (int64_t item : requests[r].exclude) s[r][item] = lowest;
    most = std::max(most, requests[r].k);
  }
  const int64_t k = std::min<int64_t>(most, catalog.num_items());
  const auto top = scores.topk(k, 1);
  const auto values = std::get<0>(top).accessor<float, 2>();
  const auto ids = std::get<1>(top).accessor<int64_t, 2>();
  std::vector<nlohmann::json> out;
  for (size_t r = 0; r < requests.size(); ++r) {
    nlohmann::json items = nlohmann::json::array();
    for (int64_t j = 0; j < std::min(k, requests[r].k); ++j) {
      if (values[r][j] == lowest) break;  // fewer items left than k
      items.push_back({{"item", catalog.items[ids[r][j]]}, {"score", values[r][j]}});
    }
    out.push_back({{"items", items}});
  }
  return out;
}

std::vector<nlohmann::json> recommend(const std::vector<Request>& requests, const CaseScorer& scorer,
                                      const Catalog& catalog, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  std::vector<nlohmann::json> out;
  for (size_t from = 0; from < requests.size(); from += static_cast<size_t>(batch_size)) {
    const size_t to = std::min(requests.size(), from + static_cast<size_t>(batch_size));
    const std::vector<Request> chunk(requests.begin() + from, requests.begin() + to);
    std::vector<const EvalCase*> cases;
    for (const Request& r : chunk) cases.push_back(&r.query);
    for (auto& row : top_items(scorer(cases), chunk, catalog)) out.push_back(std::move(row));
  }
  return out;
}

void recommend_lines(std::istream& in, const std::string& input_name, std::ostream& out, int64_t batch_size,
                     const std::function<Request(const nlohmann::json& request, const std::string& where)>& parse,
                     const CaseScorer& scorer, const Catalog& catalog) {
  std::vector<Request> chunk;
  auto flush = [&]() {
    for (const auto& row : recommend(chunk, scorer, catalog, batch_size)) out << row.dump() << "\n";
    chunk.clear();
  };
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = at_line(input_name, number);
    chunk.push_back(parse(io::parse_json_line(line, where), where));
    if (static_cast<int64_t>(chunk.size()) >= batch_size) flush();
  }
  flush();
  out.flush();
}

}  // namespace attune::recommendation
