// The run config's "model" section for ModernBERT ({"name":"modernbert","preset":"base",...}),
// typed, and its conversion to and from ModernBertOptions.
#pragma once
#include "models/modernbert/options.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attune::config {
template <typename T>
class Schema;
}

namespace attune::models {

struct ModernBertModelConfig {
  std::string name = "modernbert";
  std::string preset;  // "" (null): every size given
  std::optional<int64_t> vocab_size;  // embedding rows; null: the tokenizer's (models/common/vocabulary.h)
  // Null: the preset's size.
  std::optional<int64_t> hidden_size;
  std::optional<int64_t> num_layers;
  std::optional<int64_t> num_heads;
  std::optional<int64_t> intermediate_size;
  std::string activation = "gelu";
  double embedding_dropout = 0.0;
  double attention_dropout = 0.0;
  double mlp_dropout = 0.0;
  int64_t max_length = 8192;
  double norm_eps = 1e-5;
  bool norm_bias = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  int64_t global_every = 3;  // global_attn_every_n_layers
  int64_t local_window = 128;  // local_attention: the window's full width
  double global_rope_theta = 160000.0;
  double local_rope_theta = 10000.0;
  std::optional<int64_t> pad_token_id;  // null: the tokenizer's [PAD] or ModernBertConfig's
  // The prediction head: pooler of the classifier, transform of the masked LM.
  std::string pooling = "cls";
  std::string head_activation = "gelu";
  bool head_bias = false;
  bool decoder_bias = true;
  static void describe(config::Schema<ModernBertModelConfig>& s);
};

ModernBertModelConfig parse_modernbert_model_config(const nlohmann::json& model_cfg, const std::string& key);
// Null sizes come from the preset; fails naming key + ".preset" when there is none and a size is missing.
ModernBertOptions modernbert_options(const ModernBertModelConfig& config, int64_t vocab_size, const std::string& key);
ModernBertOptions modernbert_options_from_model_config(const nlohmann::json& model_cfg, int64_t vocab_size,
                                                       const std::string& key);
// The section fully resolved; preset (empty = null) is kept for display only.
nlohmann::json modernbert_model_config(const ModernBertOptions& options, const std::string& preset);
std::vector<std::string> modernbert_preset_names();

}  // namespace attune::models
