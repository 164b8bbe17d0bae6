// The run config's "model" section for BERT ({"name":"bert","preset":"small",
// "hidden_size":null,...}), typed, and its conversion to and from BertOptions.
// layer_norm_eps, type_vocab_size and pad_token_id are optional (BertConfig's defaults),
// for imported checkpoints.
#pragma once
#include "models/bert/options.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attune::models {

struct BertModelConfig {
  std::string name = "bert";
  std::string preset;  // "" (null): every size given
  // Null: the preset's size.
  std::optional<int64_t> hidden_size;
  std::optional<int64_t> num_layers;
  std::optional<int64_t> num_heads;
  std::optional<int64_t> intermediate_size;
  std::string activation = "gelu";
  // Null: the preset's (BertConfig's 0.1); a fine-tuning run's init keeps its own unless set.
  std::optional<double> dropout;
  std::optional<double> attention_dropout;
  int64_t max_length = 512;
  bool pre_layer_norm = false;
  // Null: BertConfig's default.
  std::optional<double> layer_norm_eps;
  std::optional<int64_t> type_vocab_size;
  std::optional<int64_t> pad_token_id;
  // The HF architecture the body stands for (roberta, distilbert, electra, ...); "" (null):
  // the preset's, else bert. Absent from sections of plain BERT.
  std::string model_type;
  std::optional<int64_t> embedding_size;  // ELECTRA; null: the preset's, else hidden_size
  bool sinusoidal_positions = false;      // DistilBERT's sinusoidal_pos_embds
  EncoderAttentionOptions attention;
  static void describe(config::Schema<BertModelConfig>& s);
};

// The section's keys; without the attention switches for models that cannot take them
// (the masked-LM head's encoder).
std::vector<std::string> bert_model_keys(bool attention_switches);

// Reads and checks a model section; key names it in errors ("model.hidden_size: ...").
BertModelConfig parse_bert_model_config(const nlohmann::json& model_cfg, const std::string& key);

// Null sizes come from the preset; explicit sizes override it. Fails naming key + ".preset"
// when there is no preset and a size is missing.
BertOptions bert_options(const BertModelConfig& config, int64_t vocab_size, const std::string& key);
BertOptions bert_options_from_model_config(const nlohmann::json& model_cfg, int64_t vocab_size,
                                           const std::string& key);

// The section fully resolved (no null sizes); preset (empty = null) is kept for display
// only. Keys at their defaults that older configs lacked stay out.
nlohmann::json bert_model_config(const BertOptions& options, const std::string& preset);

}  // namespace attune::models
