// The run config's "model" section for the Transformer encoder-decoder
// ({"name": "transformer", "preset": "transformer-small", "d_model": null, ...}) to and
// from Seq2SeqOptions, and the named presets.
#pragma once
#include "models/seq2seq/options.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace attune::config {
template <typename T>
class Schema;
}

namespace attune::models {

// transformer-tiny (tests), transformer-small (fairseq's IWSLT shape: 6+6 layers, 512
// wide, 4 heads, 1024 feed-forward), transformer-base (the paper's base model).
Seq2SeqOptions seq2seq_preset(const std::string& name, int64_t vocab_size, const std::string& where);
std::vector<std::string> seq2seq_preset_names();

// The model section, typed. Null (nullopt, "", -1) fields come from the preset, or from
// Seq2SeqOptions' defaults; explicit ones override it.
struct Seq2SeqModelConfig {
  std::string name = "transformer";
  std::string preset;  // "": every size given
  std::optional<int64_t> d_model;
  std::optional<int64_t> encoder_layers;
  std::optional<int64_t> decoder_layers;
  std::optional<int64_t> num_heads;
  std::optional<int64_t> ffn_dim;
  std::string activation;
  std::optional<double> dropout;
  std::optional<double> attention_dropout;
  std::optional<double> activation_dropout;
  int pre_layer_norm = -1;
  std::string positions;
  std::optional<int64_t> max_positions;
  int share_embeddings = -1;
  int tie_output = -1;
  int scale_embedding = -1;
  std::optional<double> layer_norm_eps;
  std::string init;
  std::optional<double> init_std;
  static void describe(config::Schema<Seq2SeqModelConfig>& s);
};

// Reads and checks a model section; fails(key + ".<field>", ...).
Seq2SeqModelConfig parse_seq2seq_model_config(const nlohmann::json& model_cfg, const std::string& key);
Seq2SeqOptions seq2seq_options(const Seq2SeqModelConfig& config, int64_t vocab_size, int64_t pad_id,
                               const std::string& key);
Seq2SeqOptions seq2seq_options_from_config(const nlohmann::json& model_cfg, int64_t vocab_size, int64_t pad_id,
                                           const std::string& key);
// The section fully resolved (no nulls), so the saved config rebuilds exactly this model.
nlohmann::json seq2seq_model_config(const Seq2SeqOptions& options, const std::string& preset);
// The default section: every field null except name and preset.
nlohmann::json seq2seq_default_config(const std::string& preset);

}  // namespace attune::models
