// ModernBERT hyper-parameters, named as Hugging Face's ModernBertConfig, and conversion to
// and from its config.json.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace attune::models {

// Defaults are ModernBertConfig's (answerdotai/ModernBERT-base).
struct ModernBertOptions {
  TORCH_ARG(int64_t, vocab_size) = 50368;
  TORCH_ARG(int64_t, hidden_size) = 768;
  TORCH_ARG(int64_t, intermediate_size) = 1152;  // the GLU's width: Wi projects to twice this
  TORCH_ARG(int64_t, num_hidden_layers) = 22;
  TORCH_ARG(int64_t, num_attention_heads) = 12;
  TORCH_ARG(std::string, hidden_activation) = "gelu";
  TORCH_ARG(int64_t, max_position_embeddings) = 8192;
  TORCH_ARG(double, norm_eps) = 1e-5;
  TORCH_ARG(bool, norm_bias) = false;
  TORCH_ARG(int64_t, pad_token_id) = 50283;
  TORCH_ARG(bool, attention_bias) = false;
  TORCH_ARG(double, attention_dropout) = 0.0;
  // Every n-th layer (0, n, 2n, ...) attends globally; the others see local_attention / 2
  // tokens either side.
  TORCH_ARG(int64_t, global_attn_every_n_layers) = 3;
  TORCH_ARG(int64_t, local_attention) = 128;
  TORCH_ARG(double, global_rope_theta) = 160000.0;
  TORCH_ARG(double, local_rope_theta) = 10000.0;
  TORCH_ARG(double, embedding_dropout) = 0.0;
  TORCH_ARG(bool, mlp_bias) = false;
  TORCH_ARG(double, mlp_dropout) = 0.0;
  TORCH_ARG(bool, decoder_bias) = true;
  // The prediction head (dense, activation, norm) on the pooled token(s): the pooler of
  // sequence classification and the transform of the masked LM.
  TORCH_ARG(std::string, classifier_pooling) = "cls";  // cls | mean
  TORCH_ARG(double, classifier_dropout) = 0.0;
  TORCH_ARG(bool, classifier_bias) = false;
  TORCH_ARG(std::string, classifier_activation) = "gelu";
  TORCH_ARG(double, initializer_range) = 0.02;
  TORCH_ARG(double, initializer_cutoff_factor) = 2.0;
  // Not in ModernBertConfig: whether the encoder holds the prediction head (HF's base
  // ModernBertModel has none).
  TORCH_ARG(bool, add_head) = true;
};

// Whether layer `index` attends to every token (ModernBertAttention: index % n == 0).
bool modernbert_global_layer(const ModernBertOptions& options, int64_t index);
// Fails naming where + ".<field>" for values the model cannot take.
void check_modernbert_options(const ModernBertOptions& options, const std::string& where);

// config.json with model_type "modernbert" and the rope bases in both spellings
// (rope_parameters and global/local_rope_theta), so transformers 4 and 5 read it.
nlohmann::json modernbert_options_to_hf_json(const ModernBertOptions& options);
// Reads ModernBertConfig's keys; absent keys take its defaults. Rope bases come from
// rope_parameters (transformers 5) or global_rope_theta / local_rope_theta (4.x). Values
// attune cannot follow (another rope_type, layer_types that disagree with
// global_attn_every_n_layers) fail(key + ".<field>", ...).
ModernBertOptions modernbert_options_from_hf_json(const nlohmann::json& config, const std::string& key);

}  // namespace attune::models
