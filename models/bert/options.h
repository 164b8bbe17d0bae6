// BERT hyper-parameters, named as Hugging Face's BertConfig, and conversion to and from
// HF config.json.
#pragma once
#include "models/transformer/encoder_attention.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace attune::models {

// Defaults are BertConfig's (bert-base-uncased).
struct BertOptions {
  TORCH_ARG(int64_t, vocab_size) = 30522;
  TORCH_ARG(int64_t, hidden_size) = 768;
  TORCH_ARG(int64_t, num_hidden_layers) = 12;
  TORCH_ARG(int64_t, num_attention_heads) = 12;
  TORCH_ARG(int64_t, intermediate_size) = 3072;
  TORCH_ARG(std::string, hidden_act) = "gelu";
  TORCH_ARG(double, hidden_dropout_prob) = 0.1;
  TORCH_ARG(double, attention_probs_dropout_prob) = 0.1;
  TORCH_ARG(int64_t, max_position_embeddings) = 512;
  TORCH_ARG(int64_t, type_vocab_size) = 2;
  TORCH_ARG(double, layer_norm_eps) = 1e-12;
  TORCH_ARG(int64_t, pad_token_id) = 0;
  TORCH_ARG(double, initializer_range) = 0.02;
  // Not in BertConfig: pre-LN layers plus a final encoder.final_layer_norm.
  TORCH_ARG(bool, pre_layer_norm) = false;
  // BertModel's constructor argument in HF, not a config key.
  TORCH_ARG(bool, add_pooling_layer) = true;
  // Not in BertConfig: attune's attention switches (masks, position bias, layer fusion, context).
  TORCH_ARG(EncoderAttentionOptions, attention);
};

// HF config.json ("model_type": "bert", "architectures": ["BertModel"]). pre_layer_norm
// and add_pooling_layer are written as extra keys, which transformers keeps but ignores.
nlohmann::json bert_options_to_hf_json(const BertOptions& options);

// Reads HF config.json keys; absent keys take BertConfig's defaults. Invalid values
// fail(key + ".<field>", ...), e.g. "config.json.hidden_size: ...".
BertOptions bert_options_from_json(const nlohmann::json& config, const std::string& key);

}  // namespace attune::models
