#include "tasks/recommendation/config.h"

#include "core/error.h"
#include "core/schema.h"
#include "tasks/engine/settings.h"
#include "tasks/recommendation/model.h"
#include "tasks/recommendation/ranking.h"
#include "tasks/recommendation/training.h"

namespace attune::recommendation {

void DataConfig::describe(config::Schema<DataConfig>& s) {
  using D = DataConfig;
  s.optional_string("interactions", &D::interactions, "the interaction log (CSV, TSV, JSONL or MovieLens' own)");
  s.choice("format", &D::format, {"auto", "csv", "tsv", "jsonl", "movielens-dat", "movielens-tab"},
           "file format; auto: by name and extension");
  s.string("user_column", &D::user_column, "column of the user id");
  s.string("item_column", &D::item_column, "column of the item id");
  s.optional_string("time_column", &D::time_column, "column that orders each user's history; null: the file's order");
  s.optional_string("rating_column", &D::rating_column, "column of the rating; null: none");
  s.optional_number("min_rating", &D::min_rating, -1e300, 1e300, "interactions rated below it are dropped; null: none");
  s.integer("k_core", &D::k_core, 1, 1 << 20, "users and items with fewer interactions are dropped, repeatedly");
  s.integer("max_history", &D::max_history, 2, 4096, "newest items of a history the model reads");
  s.string_list("user_feature_columns", &D::user_feature_columns, "categorical user columns (the context model)");
}

void ModelConfig::describe(config::Schema<ModelConfig>& s) {
  using M = ModelConfig;
  s.choice("name", &M::name, model_names(), "the recommender");
  s.integer("hidden_size", &M::hidden_size, 1, 1 << 16, "width");
  s.integer("num_layers", &M::num_layers, 1, 64, "layers");
  s.integer("num_heads", &M::num_heads, 1, 1024, "attention heads");
  s.integer("intermediate_size", &M::intermediate_size, 1, 1 << 20, "feed-forward width");
  s.number("dropout", &M::dropout, 0.0, 0.95, "dropout");
  s.number("mask_probability", &M::mask_probability, 0.01, 0.9, "bert4rec: share of history items masked");
  s.integer("neighbors", &M::neighbors, 0, 1 << 30, "item-knn: neighbours kept per item; 0 = all");
  s.check([](const M& m, const std::string& key) {
    if (!is_baseline(m.name) && m.hidden_size % m.num_heads != 0) {
      fail(config::key_path(key, "num_heads"), "must divide model.hidden_size (" + std::to_string(m.hidden_size) + ")");
    }
  });
}

void ObjectiveConfig::describe(config::Schema<ObjectiveConfig>& s) {
  s.choice("loss", &ObjectiveConfig::loss, {"bce", "sampled-softmax", "softmax"}, "training loss");
  s.integer("negatives", &ObjectiveConfig::negatives, 1, 10000, "sampled negatives per target (bce, sampled-softmax)");
}

void EvalConfig::describe(config::Schema<EvalConfig>& s) {
  s.choice("protocol", &EvalConfig::protocol, protocols(), "full ranking, plus sampled100 when asked");
}

nlohmann::json default_config() {
  nlohmann::json c = engine::default_run_keys();
  c["task"] = "recommendation";
  c["run_dir"] = "runs/recommendation";
  c["data"] = config::defaults<DataConfig>();
  c["model"] = config::defaults<ModelConfig>();
  c["objective"] = config::defaults<ObjectiveConfig>();
  c["eval"] = config::defaults<EvalConfig>();
  engine::TrainConfig train;
  train.lr = 1e-3;
  train.weight_decay = 0.0;
  train.epochs = 200;
  train.batch_size = 128;
  train.eval_batch_size = 256;
  train.warmup_ratio = 0.0;
  train.schedule = "constant";
  train.eval_every = 0;
  // Validation on one item per user is noisy: stopping early on it cut sasrec short on
  // MovieLens (docs/recommendation.md); the best epoch is kept either way.
  train.early_stopping_patience = 0;
  train.selection_metric = "ndcg@10";
  c["train"] = config::to_json(train);
  return c;
}

std::vector<std::string> config_help() {
  const nlohmann::json d = default_config();
  std::vector<std::string> lines = engine::engine_help(d);
  config::append_help<DataConfig>(lines, "data", d.at("data"));
  config::append_help<ModelConfig>(lines, "model", d.at("model"));
  config::append_help<ObjectiveConfig>(lines, "objective", d.at("objective"));
  config::append_help<EvalConfig>(lines, "eval", d.at("eval"));
  return lines;
}

Config parse_config(const nlohmann::json& config) {
  Config c;
  c.run = engine::run_keys(config);
  c.data = config::parse<DataConfig>(config::at_field(config, "data", ""), "data");
  c.model = config::parse<ModelConfig>(config::at_field(config, "model", ""), "model");
  c.objective = config::parse<ObjectiveConfig>(config::at_field(config, "objective", ""), "objective");
  c.eval = config::parse<EvalConfig>(config::at_field(config, "eval", ""), "eval");
  c.train = engine::train_section(config);
  if (c.objective.loss == "softmax" && c.model.name == "context") {
    fail("objective.loss", "the context model trains with bce or sampled-softmax: a softmax over every item would run "
                           "target attention for every item at every history position");
  }
  return c;
}

data::InteractionColumns interaction_columns(const DataConfig& data) {
  data::InteractionColumns c;
  c.format = data.format;
  c.user = data.user_column;
  c.item = data.item_column;
  c.time = data.time_column;
  c.rating = data.rating_column;
  c.features = data.user_feature_columns;
  return c;
}

SequenceOptions sequence_options(const DataConfig& data) {
  SequenceOptions o;
  o.k_core = data.k_core;
  if (data.min_rating) o.min_rating = *data.min_rating;
  return o;
}

Objective objective_of(const Config& config) {
  Objective o;
  o.loss = config.objective.loss;
  o.negatives = config.objective.negatives;
  o.mask_probability = config.model.mask_probability;
  return o;
}

}  // namespace attune::recommendation
