// The "mlm" task's run config, typed: each section a struct whose describe() holds its
// defaults and checks (core/schema.h), parsed once from the merged JSON.
#pragma once
#include "data/text/tokenizer_config.h"
#include "models/bert/model_config.h"
#include "tasks/engine/train_config.h"
#include "tasks/pretraining/masking.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::pretraining {

struct DataConfig {
  std::string train;  // one paragraph per line
  std::string valid;  // "": valid_fraction of train
  double valid_fraction = 0.01;
  static void describe(config::Schema<DataConfig>& s);
};

struct MlmConfig {
  double mlm_probability = 0.15;
  bool whole_word_masking = false;
  int64_t max_length = 128;  // tokens per block, [CLS] and [SEP] included
  static void describe(config::Schema<MlmConfig>& s);
};

struct Config {
  engine::RunKeys run;
  DataConfig data;
  text::TokenizerConfig tokenizer;
  models::BertModelConfig model;
  MlmConfig mlm;
  engine::TrainConfig train;
};

nlohmann::json default_config();
// "section.key: help" for every key of default_config() (attune config --keys).
std::vector<std::string> config_help();
// Every section read and checked, and the rules across sections (blocks fit the model).
Config parse_config(const nlohmann::json& config);

MaskingOptions masking_options(const MlmConfig& mlm);

}  // namespace attune::pretraining
