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
  // "hf:DIR": continue a transformers *ForMaskedLM folder's pretraining with its
  // tokenizer, config and weights; "": a BERT encoder from scratch.
  std::string init;
  DataConfig data;
  text::TokenizerConfig tokenizer;
  // The model section of any family with a masked LM (models::make_masked_lm): BERT's as
  // the defaults give it, or the one an init folder's config.json gives.
  nlohmann::json model;
  MlmConfig mlm;
  engine::TrainConfig train;
};

nlohmann::json default_config();
// "section.key: help" for every key of default_config() (attune config --keys).
std::vector<std::string> config_help();
// Every section read and checked, and the rules across sections (blocks fit a BERT
// section's positions; an init folder's are checked against the folder when it is read).
Config parse_config(const nlohmann::json& config);

MaskingOptions masking_options(const MlmConfig& mlm);

}  // namespace attune::pretraining
