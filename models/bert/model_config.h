// The run config's "model" section for BERT ({"name":"bert","preset":"small",
// "hidden_size":null,...}) to and from BertOptions. layer_norm_eps, type_vocab_size and
// pad_token_id are optional (BertConfig's defaults), for imported checkpoints.
#pragma once
#include "models/bert/options.h"

#include <nlohmann/json.hpp>

#include <string>

namespace attune::models {

// Null or absent sizes come from the preset; explicit sizes override it. Invalid values
// fail(key + ".<field>", ...).
BertOptions bert_options_from_model_config(const nlohmann::json& model_cfg, int64_t vocab_size,
                                           const std::string& key);

// The section fully resolved (no nulls); preset (empty = null) is kept for display only.
nlohmann::json bert_model_config(const BertOptions& options, const std::string& preset);

// The preset named in a model section, or "" when it names none.
std::string bert_model_config_preset(const nlohmann::json& model_cfg, const std::string& key);

}  // namespace attune::models
