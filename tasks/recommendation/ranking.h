// Evaluation of next-item prediction on leave-one-out cases: full ranking over every item
// the user has not interacted with, or (labelled as such) the common 100-sampled-negatives
// protocol, where the target competes with 100 items drawn uniformly from the rest.
#pragma once
#include "tasks/engine/eval_shard.h"
#include "tasks/recommendation/sequences.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace attune::recommendation {

// Scores (B, num_items + 2) of every item for a batch of cases (their histories and features).
using CaseScorer = std::function<torch::Tensor(const std::vector<const EvalCase*>& cases)>;

// protocol: "full" or "sampled100". seed fixes the sampled negatives. Sharded, each
// rank scores its batches (the negatives are drawn as one process draws them).
nlohmann::json rank_cases(const std::vector<EvalCase>& cases, const CaseScorer& scorer, int64_t num_items,
                          int64_t batch_size, const std::string& protocol, uint64_t seed,
                          const engine::EvalShard& shard = {});

const std::vector<std::string>& protocols();

}  // namespace attune::recommendation
