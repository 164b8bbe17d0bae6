// DeBERTa-v2/v3 hyper-parameters, named as Hugging Face's DebertaV2Config, and conversion
// to and from HF config.json.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::models {

// Defaults are DebertaV2Config's class defaults (deberta-v2-xlarge's shape, no relative
// attention, absolute positions). They are NOT deberta-v3-base's saved config: v3 turns on
// relative_attention, position_buckets 256, pos_att_type [p2c, c2p], share_att_key,
// norm_rel_ebd "layer_norm" and turns position_biased_input off (deberta_v3_options).
// Keys DebertaV2Config takes only through **kwargs (position_buckets, share_att_key,
// norm_rel_ebd, embedding_size) default to what the modeling code's getattr() falls back to.
struct DebertaV2Options {
  TORCH_ARG(int64_t, vocab_size) = 128100;
  TORCH_ARG(int64_t, hidden_size) = 1536;
  TORCH_ARG(int64_t, num_hidden_layers) = 24;
  TORCH_ARG(int64_t, num_attention_heads) = 24;
  TORCH_ARG(int64_t, intermediate_size) = 6144;
  TORCH_ARG(std::string, hidden_act) = "gelu";
  TORCH_ARG(double, hidden_dropout_prob) = 0.1;
  TORCH_ARG(double, attention_probs_dropout_prob) = 0.1;
  TORCH_ARG(int64_t, max_position_embeddings) = 512;
  TORCH_ARG(int64_t, type_vocab_size) = 0;
  TORCH_ARG(double, layer_norm_eps) = 1e-7;
  // Disentangled attention: the encoder's rel_embeddings and the c2p/p2c score terms.
  TORCH_ARG(bool, relative_attention) = false;
  // < 1: max_position_embeddings (relative_span()).
  TORCH_ARG(int64_t, max_relative_positions) = -1;
  // > 0: relative distances are log-bucketed into 2 * position_buckets embeddings.
  TORCH_ARG(int64_t, position_buckets) = -1;
  // Subset of {"c2p", "p2c"}; each entry also widens the score scale sqrt(d * (1 + n)).
  TORCH_ARG(std::vector<std::string>, pos_att_type) = {};
  // Absolute position embeddings added to the word embeddings.
  TORCH_ARG(bool, position_biased_input) = true;
  // Relative embeddings projected by query_proj/key_proj instead of their own
  // pos_query_proj/pos_key_proj.
  TORCH_ARG(bool, share_att_key) = false;
  // "|"-separated: "none" or "layer_norm" (encoder.LayerNorm over rel_embeddings).
  TORCH_ARG(std::string, norm_rel_ebd) = "none";
  // Embedding width; when it differs from hidden_size, embeddings.embed_proj maps it up.
  // 0: hidden_size.
  TORCH_ARG(int64_t, embedding_size) = 0;
  TORCH_ARG(int64_t, pad_token_id) = 0;
  TORCH_ARG(std::string, pooler_hidden_act) = "gelu";
  TORCH_ARG(double, pooler_dropout) = 0.0;
  TORCH_ARG(double, initializer_range) = 0.02;
  // DebertaV2Config.legacy: the masked-LM head's layout, "cls.predictions.*" (true) or
  // "lm_predictions.lm_head.*" (false, the original DeBERTa checkpoints' head).
  TORCH_ARG(bool, legacy) = true;
  // Not a config key: ContextPooler as "pooler.dense" (HF keeps it in the
  // sequence-classification model, next to "deberta").
  TORCH_ARG(bool, add_pooling_layer) = true;
};

int64_t deberta_embedding_width(const DebertaV2Options& options);
// max_relative_positions, or max_position_embeddings when it is below 1.
int64_t deberta_relative_span(const DebertaV2Options& options);
// The per-side attention span: position_buckets when bucketed, else relative_span; the
// encoder's rel_embeddings has 2 * this rows.
int64_t deberta_position_embedding_size(const DebertaV2Options& options);
bool deberta_has_pos_att(const DebertaV2Options& options, const std::string& type);
bool deberta_norm_rel_ebd_layer_norm(const DebertaV2Options& options);

// deberta-v3's architecture switches at the given sizes (vocab from the tokenizer).
DebertaV2Options deberta_v3_options(int64_t vocab_size, int64_t hidden_size, int64_t layers, int64_t heads,
                                    int64_t intermediate_size);

// Checks values the model cannot run with; fail(key + ".<field>", ...), one line.
void check_deberta_options(const DebertaV2Options& options, const std::string& key);

// HF config.json: "model_type": "deberta-v2", "architectures": ["DebertaV2Model"], every
// DebertaV2Options field under its config name (add_pooling_layer as an extra key, which
// transformers keeps but ignores).
nlohmann::json deberta_options_to_hf_json(const DebertaV2Options& options);

// Reads HF config.json keys; absent keys take DebertaV2Config's defaults. Unsupported
// values (conv_kernel_size > 0, unknown pos_att_type, ...) fail(key + ".<field>", ...).
DebertaV2Options deberta_options_from_hf_json(const nlohmann::json& config, const std::string& key);

}  // namespace attune::models
