// The "text-classification" task's run config, typed: each section a struct whose
// describe() holds its defaults and checks (core/schema.h), parsed once from the merged
// JSON. The model and peft sections belong to what they name: the encoder registry
// (models/registry.h; BERT's section is models::BertModelConfig) and the PEFT method's
// folder (peft::resolve), so they stay JSON here and are checked by their owners.
#pragma once
#include "data/text/tokenizer_config.h"
#include "tasks/classification/examples.h"
#include "tasks/engine/train_config.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::classification {

struct DataConfig {
  std::string train;
  std::string valid;  // "": valid_fraction of train
  std::string test;
  std::string format = "auto";
  std::string text_column = "text";
  std::string text_pair_column;  // "": single texts
  std::string label_column = "label";
  int64_t max_length = 128;
  double valid_fraction = 0.1;
  // Numeric columns that condition every layer's attention (context attention).
  std::vector<std::string> context_columns;
  static void describe(config::Schema<DataConfig>& s);
};

struct HeadConfig {
  std::string pooling = "mean";
  double dropout = 0.1;
  // Attention pooling's softmax temperature and entropy regulariser.
  double temperature = 1.0;
  double entropy_weight = 0.0;
  double entropy_target = 0.5;
  static void describe(config::Schema<HeadConfig>& s);
};

struct Config {
  engine::RunKeys run;
  // An attune run directory, or hf:DIR (a Hugging Face BERT checkpoint folder), whose
  // encoder and tokenizer the model starts from; "" = none.
  std::string init;
  DataConfig data;
  text::TokenizerConfig tokenizer;
  nlohmann::json model;
  HeadConfig head;
  nlohmann::json peft;  // resolved (the method's defaults filled in), or {"method": null}
  engine::TrainConfig train;
};

nlohmann::json default_config();
// "section.key: help" for every key of default_config() (attune config --keys).
std::vector<std::string> config_help();
// Every section read and checked, with the rules across sections (texts fit the model,
// PEFT with the switches it supports). Saved configs of older runs load: their absent
// keys keep the defaults.
Config parse_config(const nlohmann::json& config);
bool peft_enabled(const Config& config);

// The columns a file is read with; without the label for prediction input.
ColumnSpec column_spec(const DataConfig& data, bool with_label);

}  // namespace attune::classification
