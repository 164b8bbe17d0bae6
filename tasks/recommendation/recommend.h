// Recommendation requests, shared by `attune recommend` / `attune predict` on a run and
// on a bundle and by `attune serve`: a request's JSON to the history the model reads and
// the items left out of its ranking, and scores to the top items.
#pragma once
#include "tasks/recommendation/ranking.h"
#include "tasks/recommendation/run_data.h"
#include "tasks/recommendation/sequences.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace attune::recommendation {

// Items per request unless it says "k" (predict's and recommend's --top-k default).
inline constexpr int64_t kDefaultTopK = 10;

struct Request {
  EvalCase query;                // history (model indices, oldest first) and features
  std::vector<int64_t> exclude;  // model indices left out of the ranking
  int64_t k = kDefaultTopK;
};

// One request: {"user": ID} (a user of the run: their sequence and features; runs only,
// `run` null for a bundle) or {"history": [ITEM, ...]} with optional "features" (runs),
// "exclude": [ITEM, ...] (replaces the default, the history itself; ids the catalogue
// lacks are ignored: they are never ranked) and "k" (default_k). An item of the history
// the catalogue lacks, an empty history or a malformed key fails naming `where`.
Request parse_request(const nlohmann::json& request, const Catalog& catalog, const RunData* run, int64_t default_k,
                      const std::string& where);

// The k best items of each request's scores (B, num_items + 2) outside its exclusions,
// best first: {"items": [{"item", "score"}...]} (fewer when fewer items are left).
std::vector<nlohmann::json> top_items(const torch::Tensor& scores, const std::vector<Request>& requests,
                                      const Catalog& catalog);

// Scores then top items of requests, batch_size at a time.
std::vector<nlohmann::json> recommend(const std::vector<Request>& requests, const CaseScorer& scorer,
                                      const Catalog& catalog, int64_t batch_size);

// The JSONL loop of recommend and predict: one request a line (blank lines skipped), one
// {"items": [...]} line each, scored batch_size requests at a time.
void recommend_lines(std::istream& in, const std::string& input_name, std::ostream& out, int64_t batch_size,
                     const std::function<Request(const nlohmann::json& request, const std::string& where)>& parse,
                     const CaseScorer& scorer, const Catalog& catalog);

}  // namespace attune::recommendation
