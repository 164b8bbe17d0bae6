// The "recommendation" task's run config, typed: each section a struct whose describe()
// holds its defaults and checks (core/schema.h), parsed once from the merged JSON.
#pragma once
#include "data/readers/interactions.h"
#include "tasks/engine/train_config.h"
#include "tasks/recommendation/sequences.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace attune::recommendation {

struct Objective;  // training.h

struct DataConfig {
  std::string interactions;  // the interaction log
  std::string format = "auto";
  std::string user_column = "user";
  std::string item_column = "item";
  std::string time_column;    // "": the file's order
  std::string rating_column;  // "": none
  std::optional<double> min_rating;
  int64_t k_core = 5;
  int64_t max_history = 50;
  std::vector<std::string> user_feature_columns;
  static void describe(config::Schema<DataConfig>& s);
};

struct ModelConfig {
  std::string name = "sasrec";
  int64_t hidden_size = 64;
  int64_t num_layers = 2;
  int64_t num_heads = 2;
  int64_t intermediate_size = 256;
  double dropout = 0.2;
  double mask_probability = 0.2;  // bert4rec
  int64_t neighbors = 0;          // item-knn; 0 = every item
  static void describe(config::Schema<ModelConfig>& s);
};

struct ObjectiveConfig {
  std::string loss = "bce";
  int64_t negatives = 1;
  static void describe(config::Schema<ObjectiveConfig>& s);
};

struct EvalConfig {
  std::string protocol = "full";
  static void describe(config::Schema<EvalConfig>& s);
};

struct Config {
  engine::RunKeys run;
  DataConfig data;
  ModelConfig model;
  ObjectiveConfig objective;
  EvalConfig eval;
  engine::TrainConfig train;
};

nlohmann::json default_config();
// "section.key: help" for every key of default_config() (attune config --keys).
std::vector<std::string> config_help();
Config parse_config(const nlohmann::json& config);

data::InteractionColumns interaction_columns(const DataConfig& data);
SequenceOptions sequence_options(const DataConfig& data);
Objective objective_of(const Config& config);

}  // namespace attune::recommendation
