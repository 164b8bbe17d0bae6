// The run config's "model" section for the Transformer encoder-decoder
// ({"name": "transformer", "preset": "transformer-small", "d_model": null, ...}) to and
// from Seq2SeqOptions, and the named presets.
#pragma once
#include "models/seq2seq/options.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::models {

// transformer-tiny (tests), transformer-small (fairseq's IWSLT shape: 6+6 layers, 512
// wide, 4 heads, 1024 feed-forward), transformer-base (the paper's base model).
Seq2SeqOptions seq2seq_preset(const std::string& name, int64_t vocab_size, const std::string& where);
std::vector<std::string> seq2seq_preset_names();

// Null or absent fields come from the preset; explicit ones override it. Invalid values
// fail(key + ".<field>", ...).
Seq2SeqOptions seq2seq_options_from_config(const nlohmann::json& model_cfg, int64_t vocab_size, int64_t pad_id,
                                           const std::string& key);
// The section fully resolved (no nulls), so the saved config rebuilds exactly this model.
nlohmann::json seq2seq_model_config(const Seq2SeqOptions& options, const std::string& preset);
// The default section: every field null except name and preset.
nlohmann::json seq2seq_default_config(const std::string& preset);

}  // namespace attune::models
