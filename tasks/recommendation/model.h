// A recommendation run's model, whatever its kind: a baseline (popular, item-knn) held as
// tensors, or a sequential recommender module; and the input tensors the module reads.
#pragma once
#include "models/recommender/recommender.h"
#include "tasks/recommendation/config.h"
#include "tasks/recommendation/ranking.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::recommendation {

const std::vector<std::string>& model_names();  // baselines and models::recommender_kinds()
bool is_baseline(const std::string& name);

struct RecModel {
  std::string name;
  int64_t num_items = 0;
  int64_t max_length = 0;  // items a module reads (bert4rec: history plus [MASK])
  models::SequentialRecommender net{nullptr};
  torch::Tensor popularity;  // popular
  torch::Tensor similarity;  // item-knn
  torch::Device device = torch::kCPU;

  // Scores of every item for each case's history (its newest max_length items).
  CaseScorer scorer();
  // Tensors of model.safetensors.
  std::vector<std::pair<std::string, torch::Tensor>> tensors();
};

// From the run config's "model" and "data" sections.
RecModel make_model(const Config& config, int64_t num_items, int64_t num_feature_values);
// Loads model.safetensors of a run into a model made by make_model.
void load_model_weights(RecModel& model, const std::string& run_dir);

// Left-padded (B, T) item ids of the newest items of each history; with_mask appends
// [MASK] (mask_id) after them (bert4rec's query position).
torch::Tensor history_batch(const std::vector<const std::vector<int64_t>*>& histories, int64_t length, bool with_mask,
                            int64_t mask_id);
// (B, F) feature ids of one row per example, or an undefined tensor when they have none.
torch::Tensor feature_batch(const std::vector<const std::vector<int64_t>*>& rows);

}  // namespace attune::recommendation
