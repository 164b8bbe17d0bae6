#include "tasks/recommendation/training.h"

#include <algorithm>
#include <random>
#include <unordered_set>

namespace attune::recommendation {

RecommendationTask::RecommendationTask(RecModel& model, std::vector<std::vector<int64_t>> train,
                                       std::vector<std::vector<int64_t>> features, std::vector<EvalCase> valid,
                                       Objective objective, int64_t batch_size, int64_t eval_batch_size)
    : model_(model),
      train_(std::move(train)),
      features_(std::move(features)),
      valid_(std::move(valid)),
      objective_(std::move(objective)),
      batch_size_(batch_size),
      eval_batch_size_(eval_batch_size) {
  for (size_t u = 0; u < train_.size(); ++u)
    if (train_[u].size() >= 2) trainable_.push_back(static_cast<int64_t>(u));
}

engine::BatchPlan RecommendationTask::train_plan(int64_t epoch, uint64_t seed) {
  return engine::shuffled_batches(trainable_, batch_size_, epoch, seed);
}

int64_t RecommendationTask::batch_size_of(const std::vector<int64_t>& batch) const {
  int64_t n = 0;
  for (int64_t u : batch) n += std::min<int64_t>(model_.max_length, static_cast<int64_t>(train_[u].size()) - 1);
  return n;
}

torch::Tensor RecommendationTask::train_loss(const std::vector<int64_t>& batch, const torch::Device& device) {
  std::mt19937_64 rng(engine::batch_seed(batch));
  const int64_t n = model_.num_items, b = static_cast<int64_t>(batch.size()), t = model_.max_length;
  const bool bert = model_.name == "bert4rec";
  // inputs (B,T) and targets (B,T): next items (causal kinds) or the masked items (bert4rec); 0 = no loss.
  torch::Tensor inputs = torch::zeros({b, t}, torch::kLong), targets = torch::zeros({b, t}, torch::kLong);
  auto in = inputs.accessor<int64_t, 2>();
  auto tg = targets.accessor<int64_t, 2>();
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  for (int64_t r = 0; r < b; ++r) {
    const auto& s = train_[batch[r]];
    if (bert) {
      const int64_t take = std::min<int64_t>(t, static_cast<int64_t>(s.size()));
      bool any = false;
      for (int64_t i = 0; i < take; ++i) {
        const int64_t item = s[s.size() - take + i];
        const int64_t col = t - take + i;
        in[r][col] = item;
        if (coin(rng) < objective_.mask_probability) {
          in[r][col] = n + 1;
          tg[r][col] = item;
          any = true;
        }
      }
      if (!any) {  // every sequence teaches something; the newest item is the one inference asks for
        tg[r][t - 1] = in[r][t - 1];
        in[r][t - 1] = n + 1;
      }
    } else {
      const int64_t take = std::min<int64_t>(t, static_cast<int64_t>(s.size()) - 1);
      for (int64_t i = 0; i < take; ++i) {
        in[r][t - take + i] = s[s.size() - 1 - take + i];
        tg[r][t - take + i] = s[s.size() - take + i];
      }
    }
  }
  inputs = inputs.to(device);
  const torch::Tensor targets_on_device = targets.to(device);  // `targets` stays on the CPU for the sampling below
  const torch::Tensor states = model_.net->encode(inputs);
  const torch::Tensor real = targets_on_device.ne(0);
  if (objective_.loss == "softmax") {
    const torch::Tensor logits = model_.net->all_item_scores(states.index({real}));
    return torch::nn::functional::cross_entropy(logits, targets_on_device.index({real}));
  }
  // bce and sampled-softmax: each target against `negatives` items the user never interacted with.
  const int64_t k = objective_.negatives;
  torch::Tensor candidates = torch::zeros({b, t, 1 + k}, torch::kLong);
  auto cand = candidates.accessor<int64_t, 3>();
  std::uniform_int_distribution<int64_t> pick(1, n);
  for (int64_t r = 0; r < b; ++r) {
    const std::unordered_set<int64_t> seen(train_[batch[r]].begin(), train_[batch[r]].end());
    for (int64_t c = 0; c < t; ++c) {
      if (tg[r][c] == 0) continue;
      cand[r][c][0] = tg[r][c];
      for (int64_t j = 1; j <= k; ++j) {
        int64_t item = pick(rng);
        // Rejection stays cheap: a user has seen a small share of the catalogue.
        for (int tries = 0; seen.count(item) && tries < 32; ++tries) item = pick(rng);
        cand[r][c][j] = item;
      }
    }
  }
  candidates = candidates.to(device);
  torch::Tensor features;
  if (!features_.empty() && model_.name == "context") {
    std::vector<const std::vector<int64_t>*> rows;
    for (int64_t u : batch) rows.push_back(&features_[u]);
    features = feature_batch(rows);
    if (features.defined()) features = features.to(device);
  }
  const torch::Tensor scores = model_.net->candidate_scores(inputs, states, candidates, features).to(torch::kFloat);
  if (objective_.loss == "sampled-softmax") {
    // The target is column 0 of its candidates.
    const torch::Tensor picked = scores.index({real});
    return torch::nn::functional::cross_entropy(picked, torch::zeros({picked.size(0)}, picked.options().dtype(torch::kLong)));
  }
  torch::Tensor labels = torch::zeros_like(scores);
  labels.select(2, 0).fill_(1.0);
  const torch::Tensor per = torch::binary_cross_entropy_with_logits(scores, labels, {}, {}, at::Reduction::None).sum(2);
  return per.index({real}).mean();
}

nlohmann::json RecommendationTask::evaluate(const torch::Device& device, const engine::EvalShard& shard) {
  return rank_cases(valid_, model_.scorer(), model_.num_items, eval_batch_size_, "full", 0, shard);
}

}  // namespace attune::recommendation
