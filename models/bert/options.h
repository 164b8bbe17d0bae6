// BERT hyper-parameters, named as Hugging Face's BertConfig, and conversion to and from
// HF config.json.
#pragma once
#include "models/transformer/encoder_attention.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

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

  // The Hugging Face architecture this body stands for (hf_arch.h): bert, roberta,
  // xlm-roberta, camembert, distilbert or electra. It sets the switches below
  // (apply_model_type) and the names and config.json keys checkpoints use.
  TORCH_ARG(std::string, model_type) = "bert";
  // ELECTRA: embedding width; when it differs from hidden_size, embeddings_project maps it
  // up. 0: hidden_size.
  TORCH_ARG(int64_t, embedding_size) = 0;
  // RoBERTa: positions count real tokens from pad_token_id + 1 (pads keep pad_token_id),
  // from the input ids, as create_position_ids_from_input_ids.
  TORCH_ARG(bool, positions_from_padding) = false;
  // DistilBERT: fixed sinusoidal position table, not trained.
  TORCH_ARG(bool, sinusoidal_pos_embds) = false;
  // The pooler's activation on the first token: tanh (BERT/RoBERTa), gelu (ELECTRA's
  // classifier), relu (DistilBERT's pre_classifier).
  TORCH_ARG(std::string, pooler_act) = "tanh";
  // The masked-LM transform's activation; "" = hidden_act (RoBERTa's lm_head is always gelu).
  TORCH_ARG(std::string, lm_head_act) = "";
};

// The supported model types, in listing order.
const std::vector<std::string>& bert_model_types();
// Sets the switches model_type implies (type vocab, positions, pooler and head
// activations); fail(where, ...) for an unknown type.
BertOptions& apply_model_type(BertOptions& options, const std::string& model_type, const std::string& where);
int64_t embedding_width(const BertOptions& options);
// The longest input: max_position_embeddings, less RoBERTa's pad_token_id + 1 offset.
int64_t max_sequence_length(const BertOptions& options);

// HF config.json for options.model_type ("model_type": "bert", "architectures": ["BertModel"];
// DistilBERT's own keys dim/n_layers/...). pre_layer_norm and add_pooling_layer are written
// as extra keys, which transformers keeps but ignores.
nlohmann::json bert_options_to_hf_json(const BertOptions& options);

// Reads HF config.json keys of any bert_model_types() ("model_type"); absent keys take
// that config class's defaults. Invalid values
// fail(key + ".<field>", ...), e.g. "config.json.hidden_size: ...".
BertOptions bert_options_from_json(const nlohmann::json& config, const std::string& key);

}  // namespace attune::models
