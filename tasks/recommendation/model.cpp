#include "tasks/recommendation/model.h"
#include "tasks/engine/run_dir.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "tasks/engine/settings.h"
#include "tasks/recommendation/baselines.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::recommendation {

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"popular", "item-knn"};
    for (const auto& k : models::recommender_kinds()) n.push_back(k);
    return n;
  }();
  return names;
}

bool is_baseline(const std::string& name) { return name == "popular" || name == "item-knn"; }

torch::Tensor history_batch(const std::vector<const std::vector<int64_t>*>& histories, int64_t length, bool with_mask,
                            int64_t mask_id) {
  torch::Tensor items = torch::zeros({static_cast<int64_t>(histories.size()), length}, torch::kLong);
  auto a = items.accessor<int64_t, 2>();
  const int64_t room = with_mask ? length - 1 : length;
  for (size_t r = 0; r < histories.size(); ++r) {
    const auto& h = *histories[r];
    const int64_t take = std::min<int64_t>(room, static_cast<int64_t>(h.size()));
    for (int64_t i = 0; i < take; ++i) a[r][room - take + i] = h[h.size() - take + i];
    if (with_mask) a[r][length - 1] = mask_id;
  }
  return items;
}

torch::Tensor feature_batch(const std::vector<const std::vector<int64_t>*>& rows) {
  if (rows.empty() || rows.front()->empty()) return {};
  const auto f = static_cast<int64_t>(rows.front()->size());
  torch::Tensor out = torch::zeros({static_cast<int64_t>(rows.size()), f}, torch::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t j = 0; j < f && j < static_cast<int64_t>(rows[r]->size()); ++j) a[r][j] = (*rows[r])[j];
  return out;
}

CaseScorer RecModel::scorer() {
  return [this](const std::vector<const EvalCase*>& cases) -> torch::Tensor {
    std::vector<const std::vector<int64_t>*> histories, features;
    for (const EvalCase* c : cases) {
      histories.push_back(&c->history);
      features.push_back(&c->features);
    }
    if (name == "popular") return popularity.unsqueeze(0).expand({static_cast<int64_t>(cases.size()), -1});
    if (name == "item-knn") return knn_scores(similarity, histories);
    net->eval();
    const bool bert = name == "bert4rec";
    const torch::Tensor items = history_batch(histories, max_length, bert, num_items + 1).to(device);
    const torch::Tensor states = net->encode(items);
    if (name == "context") {
      torch::Tensor ids = feature_batch(features);
      if (ids.defined()) ids = ids.to(device);
      return net->context_scores(items, states, ids);
    }
    return net->all_item_scores(states.select(1, states.size(1) - 1));
  };
}

std::vector<std::pair<std::string, torch::Tensor>> RecModel::tensors() {
  if (name == "popular") return {{"popularity", popularity}};
  if (name == "item-knn") return {{"similarity", similarity}};
  return formats::module_tensors(*net);
}

RecModel make_model(const Config& config, int64_t num_items, int64_t num_feature_values) {
  const ModelConfig& m = config.model;
  RecModel model;
  model.name = m.name;
  model.num_items = num_items;
  if (is_baseline(model.name)) return model;
  // bert4rec reads the history plus its [MASK] query position.
  model.max_length = m.name == "bert4rec" ? config.data.max_history + 1 : config.data.max_history;
  model.net = models::SequentialRecommender(models::SequentialRecommenderOptions(num_items, model.max_length)
                                                .kind(model.name)
                                                .hidden_size(m.hidden_size)
                                                .num_layers(m.num_layers)
                                                .num_heads(m.num_heads)
                                                .intermediate_size(m.intermediate_size)
                                                .dropout(m.dropout)
                                                .num_feature_values(model.name == "context" ? num_feature_values : 0));
  return model;
}

void load_model_weights(RecModel& model, const std::string& run_dir) {
  if (model.net) {
    engine::RunDir(run_dir).load_weights(*model.net);
    return;
  }
  const std::string path = engine::RunDir(run_dir).weights();
  if (!fs::exists(path)) fail(run_dir, "run has no model.safetensors (training did not reach an evaluation)");
  const formats::SafetensorsFile file = formats::load_safetensors(path);
  auto tensor = [&](const std::string& key) {
    const auto it = file.tensors.find(key);
    if (it == file.tensors.end()) fail(path, "missing tensor '" + key + "'");
    return it->second;
  };
  if (model.name == "popular") model.popularity = tensor("popularity");
  else model.similarity = tensor("similarity");
}

}  // namespace attune::recommendation
