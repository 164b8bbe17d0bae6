// The "translation" task's run config, typed: each section a struct whose describe()
// holds its defaults and checks (core/schema.h), parsed once from the merged JSON. The
// train section is the engine's plus this task's own keys (TranslationTrainConfig).
#pragma once
#include "data/text/tokenizer_config.h"
#include "models/seq2seq/config.h"
#include "tasks/engine/train_config.h"
#include "tasks/translation/decoding.h"
#include "tasks/translation/examples.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::translation {

struct DataConfig {
  // Each a TSV ("source<TAB>target") or JSONL path, or {"source": path, "target": path}.
  nlohmann::json train;
  nlohmann::json valid;  // null: valid_fraction of train
  nlohmann::json test;
  double valid_fraction = 0.01;
  std::string source_key = "src";  // JSONL keys
  std::string target_key = "tgt";
  int64_t max_source_tokens = 128;
  int64_t max_target_tokens = 128;
  double max_length_ratio = 3.0;
  static void describe(config::Schema<DataConfig>& s);
};

// The train section's keys that only translation has.
struct TranslationTrainConfig {
  int64_t max_tokens = 4096;  // padded tokens a training batch
  double label_smoothing = 0.1;
  int64_t eval_max_tokens = 8192;
  int64_t eval_max_sentences = 500;  // translated at each evaluation for BLEU/chrF (0 = none)
  static void describe(config::Schema<TranslationTrainConfig>& s);
};

struct DecodeConfig {
  int64_t beam_size = 4;
  double length_penalty = 1.0;
  double max_length_ratio = 1.5;
  int64_t max_length_extra = 10;
  int64_t eval_beam_size = 1;  // at validation
  std::string output;          // eval: also write the translations here
  static void describe(config::Schema<DecodeConfig>& s);
};

struct Config {
  engine::RunKeys run;
  DataConfig data;
  text::TokenizerConfig tokenizer;
  models::Seq2SeqModelConfig model;
  engine::TrainConfig train;
  TranslationTrainConfig translation_train;
  DecodeConfig decode;
  std::string init;  // "hf:DIR": an OPUS-MT folder to fine-tune from (init.h); "" from scratch
  // Resolved (the method's defaults filled in), or {"method": null}: full fine-tuning.
  // Checked by models/peft, as for text classification (docs/peft.md).
  nlohmann::json peft;
};

nlohmann::json default_config();
// "section.key: help" for every key of default_config() (attune config --keys).
std::vector<std::string> config_help();
Config parse_config(const nlohmann::json& config);
bool peft_enabled(const Config& config);

LengthFilter length_filter(const DataConfig& data);
// The decode section (eval_beam_size instead of beam_size for validation).
DecodeOptions decode_options(const DecodeConfig& decode, const SpecialIds& ids, bool for_validation);

}  // namespace attune::translation
