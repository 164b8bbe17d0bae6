#include "models/bert/model_config.h"

#include "core/error.h"
#include "core/config.h"
#include "models/bert/presets.h"
#include "models/transformer/activation.h"

namespace attune::models {


namespace {

const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> fields = {
      "name",       "preset",  "hidden_size",       "num_layers", "num_heads",     "intermediate_size",
      "activation", "dropout", "attention_dropout", "max_length", "pre_layer_norm",
      // Optional, for checkpoints imported from Hugging Face whose values differ from BertConfig's.
      "layer_norm_eps", "type_vocab_size", "pad_token_id"};
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out = fields;
    out.insert(out.end(), encoder_attention_fields().begin(), encoder_attention_fields().end());
    return out;
  }();
  return all;
}

}  // namespace

std::string bert_model_config_preset(const nlohmann::json& model_cfg, const std::string& key) {
  return config::string_or(model_cfg, "preset", key, "");
}

BertOptions bert_options_from_model_config(const nlohmann::json& cfg, int64_t vocab_size, const std::string& key) {
  if (!cfg.is_object()) fail(key, "must be a JSON object, got " + cfg.dump());
  TORCH_CHECK(vocab_size > 0, "bert: vocab_size must be positive, got ", vocab_size);
  config::reject_unknown(cfg, known_fields(), key);

  const std::string preset = bert_model_config_preset(cfg, key);
  const auto hidden = config::optional_int(cfg, "hidden_size", key, 1);
  const auto layers = config::optional_int(cfg, "num_layers", key, 1);
  const auto heads = config::optional_int(cfg, "num_heads", key, 1);
  const auto intermediate = config::optional_int(cfg, "intermediate_size", key, 1);

  BertOptions o;
  if (!preset.empty()) {
    o = bert_preset(preset, vocab_size, key + ".preset");
  } else if (!hidden || !layers || !heads || !intermediate) {
    fail(key + ".preset", "no preset given, so hidden_size, num_layers, num_heads and intermediate_size are all "
                          "required (presets: " + config::join(bert_preset_names()) + ")");
  }
  o.vocab_size(vocab_size);
  if (hidden) o.hidden_size(*hidden);
  if (layers) o.num_hidden_layers(*layers);
  if (heads) o.num_attention_heads(*heads);
  if (intermediate) o.intermediate_size(*intermediate);
  const std::string activation = config::string_or(cfg, "activation", key, "gelu");
  parse_activation(activation, key + ".activation");
  o.hidden_act(activation)
      .hidden_dropout_prob(config::rate_or(cfg, "dropout", key, 0.1))
      .attention_probs_dropout_prob(config::rate_or(cfg, "attention_dropout", key, 0.1))
      .max_position_embeddings(config::int_or(cfg, "max_length", key, 1, 512))
      .pre_layer_norm(config::bool_or(cfg, "pre_layer_norm", key, false))
      .layer_norm_eps(config::positive_or(cfg, "layer_norm_eps", key, BertOptions().layer_norm_eps()))
      .type_vocab_size(config::int_or(cfg, "type_vocab_size", key, 1, BertOptions().type_vocab_size()))
      .pad_token_id(config::int_or(cfg, "pad_token_id", key, 0, BertOptions().pad_token_id()))
      .attention(encoder_attention_from_config(cfg, key));
  if (o.hidden_size() % o.num_attention_heads() != 0) {
    fail(key + ".hidden_size", "hidden_size " + std::to_string(o.hidden_size()) + " is not divisible by num_heads " +
                                   std::to_string(o.num_attention_heads()));
  }
  return o;
}

nlohmann::json bert_model_config(const BertOptions& o, const std::string& preset) {
  nlohmann::json section = {
      {"name", "bert"},
      {"preset", preset.empty() ? nlohmann::json(nullptr) : nlohmann::json(preset)},
      {"hidden_size", o.hidden_size()},
      {"num_layers", o.num_hidden_layers()},
      {"num_heads", o.num_attention_heads()},
      {"intermediate_size", o.intermediate_size()},
      {"activation", o.hidden_act()},
      {"dropout", o.hidden_dropout_prob()},
      {"attention_dropout", o.attention_probs_dropout_prob()},
      {"max_length", o.max_position_embeddings()},
      {"pre_layer_norm", o.pre_layer_norm()},
  };
  // Written only when they differ from BertConfig's defaults, so attune's own runs keep
  // their short model section.
  const BertOptions d;
  if (o.layer_norm_eps() != d.layer_norm_eps()) section["layer_norm_eps"] = o.layer_norm_eps();
  if (o.type_vocab_size() != d.type_vocab_size()) section["type_vocab_size"] = o.type_vocab_size();
  if (o.pad_token_id() != d.pad_token_id()) section["pad_token_id"] = o.pad_token_id();
  write_encoder_attention(o.attention(), section);
  return section;
}

}  // namespace attune::models
