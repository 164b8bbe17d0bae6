// Training a sequential recommender with the shared engine: every position of a user's
// newest training items predicts the next one (sasrec, context), or masked items are
// filled in (bert4rec); loss over sampled negatives (binary or softmax cross-entropy) or
// over every item (softmax cross-entropy).
#pragma once
#include "tasks/engine/task.h"
#include "tasks/recommendation/model.h"
#include "tasks/recommendation/sequences.h"

#include <string>
#include <vector>

namespace attune::recommendation {

struct Objective {
  // "bce" (target against sampled negatives, each on its own), "sampled-softmax"
  // (cross-entropy over the target and its sampled negatives) or "softmax" (every item).
  std::string loss = "bce";
  int64_t negatives = 1;  // per target, for bce and sampled-softmax
  double mask_probability = 0.2;  // bert4rec
};

class RecommendationTask : public engine::TrainTask {
 public:
  // train: per-user training sequences; valid: validation cases (features attached).
  RecommendationTask(RecModel& model, std::vector<std::vector<int64_t>> train, std::vector<std::vector<int64_t>> features,
                     std::vector<EvalCase> valid, Objective objective, int64_t batch_size, int64_t eval_batch_size);
  std::shared_ptr<torch::nn::Module> model() override { return model_.net.ptr(); }
  engine::BatchPlan train_plan(int64_t epoch, uint64_t seed) override;
  torch::Tensor train_loss(const std::vector<int64_t>& batch, const torch::Device& device) override;
  int64_t batch_size_of(const std::vector<int64_t>& batch) const override;
  nlohmann::json evaluate(const torch::Device& device, const engine::EvalShard& shard) override;

 private:
  RecModel& model_;
  std::vector<std::vector<int64_t>> train_;
  std::vector<std::vector<int64_t>> features_;  // per user, may be empty
  std::vector<EvalCase> valid_;
  Objective objective_;
  int64_t batch_size_, eval_batch_size_;
  std::vector<int64_t> trainable_;  // users with at least two training items
};

}  // namespace attune::recommendation
