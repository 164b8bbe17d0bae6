// The run config's "model" section for DeBERTa-v2/v3 ({"name":"deberta","preset":"v3-base",
// "hidden_size":null,...}), typed, its conversion to and from DebertaV2Options, and the
// presets (the published deberta-v3 sizes).
#pragma once
#include "core/schema.h"
#include "models/deberta/options.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attune::models {

struct DebertaModelConfig {
  std::string name = "deberta";
  std::string preset;  // "" (null): every size given
  std::optional<int64_t> vocab_size;  // embedding rows; null: the tokenizer's (models/common/vocabulary.h)
  // Null: the preset's size.
  std::optional<int64_t> hidden_size;
  std::optional<int64_t> num_layers;
  std::optional<int64_t> num_heads;
  std::optional<int64_t> intermediate_size;
  std::string activation = "gelu";
  double dropout = 0.1;
  double attention_dropout = 0.1;
  int64_t max_length = 512;  // max_position_embeddings
  // The DeBERTa switches; defaults are deberta-v3's (not DebertaV2Config's class defaults).
  bool relative_attention = true;
  int64_t max_relative_positions = -1;
  int64_t position_buckets = 256;
  std::vector<std::string> pos_att_type = {"p2c", "c2p"};
  bool position_biased_input = false;
  bool share_att_key = true;
  std::string norm_rel_ebd = "layer_norm";
  double layer_norm_eps = 1e-7;
  int64_t type_vocab_size = 0;
  std::optional<int64_t> embedding_size;  // null: hidden_size
  int64_t pad_token_id = 0;
  std::string pooler_activation = "gelu";
  double pooler_dropout = 0.0;
  bool legacy_mlm_head = true;  // DebertaV2Config.legacy
  static void describe(config::Schema<DebertaModelConfig>& s);
};

// Unknown names fail(where, "unknown preset 'x' (known: v3-xsmall, ...)").
DebertaV2Options deberta_preset(const std::string& name, int64_t vocab_size, const std::string& where = "model.preset");
std::vector<std::string> deberta_preset_names();

// Reads and checks a model section; key names it in errors ("model.hidden_size: ...").
DebertaModelConfig parse_deberta_model_config(const nlohmann::json& model_cfg, const std::string& key);

// Null sizes come from the preset; explicit sizes override it. Fails naming key + ".preset"
// when there is no preset and a size is missing, and key + ".<key>" for invalid values.
DebertaV2Options deberta_options(const DebertaModelConfig& config, int64_t vocab_size, const std::string& key);
DebertaV2Options deberta_options_from_model_config(const nlohmann::json& model_cfg, int64_t vocab_size,
                                                   const std::string& key);

// The section fully resolved (no null sizes); preset (empty = null) is kept for display
// only. deberta_options(parse(deberta_model_config(o)), o.vocab_size()) gives o back
// (initializer_range and add_pooling_layer are not section keys and take their defaults).
nlohmann::json deberta_model_config(const DebertaV2Options& options, const std::string& preset = "");

}  // namespace attune::models
