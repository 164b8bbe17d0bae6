#include "models/bert/model_config.h"

#include "core/error.h"
#include "core/schema.h"
#include "models/bert/presets.h"
#include "models/transformer/activation.h"

namespace attune::models {

void BertModelConfig::describe(config::Schema<BertModelConfig>& s) {
  using C = BertModelConfig;
  s.choice("name", &C::name, {"bert"}, "the encoder");
  s.optional_string("preset", &C::preset, "named sizes (" + config::join(bert_preset_names()) + "); null: give every size");
  s.optional_integer("hidden_size", &C::hidden_size, 1, 1 << 16, "width; null: the preset's");
  s.optional_integer("num_layers", &C::num_layers, 1, 1024, "layers; null: the preset's");
  s.optional_integer("num_heads", &C::num_heads, 1, 1024, "attention heads; null: the preset's");
  s.optional_integer("intermediate_size", &C::intermediate_size, 1, 1 << 20, "feed-forward width; null: the preset's");
  s.string("activation", &C::activation, "feed-forward activation (gelu, relu, gelu_new, ...)");
  s.optional_rate("dropout", &C::dropout, "hidden dropout; null: the preset's 0.1, or the init's");
  s.optional_rate("attention_dropout", &C::attention_dropout,
                  "attention-probability dropout; null: the preset's 0.1, or the init's");
  s.integer("max_length", &C::max_length, 1, 1 << 20, "position embeddings");
  s.boolean("pre_layer_norm", &C::pre_layer_norm, "pre-LN layers plus a final layer norm");
  s.optional_number("layer_norm_eps", &C::layer_norm_eps, 1e-300, 1.0, "layer norm epsilon; null: BertConfig's 1e-12");
  s.optional_integer("type_vocab_size", &C::type_vocab_size, 1, 1 << 20, "token type embeddings; null: BertConfig's 2");
  s.optional_integer("pad_token_id", &C::pad_token_id, 0, 1LL << 40, "id of the padding token; null: BertConfig's 0");
  s.optional_string("model_type", &C::model_type,
                    "Hugging Face architecture (" + config::join(bert_model_types()) + "); null: the preset's, else bert");
  s.optional_integer("embedding_size", &C::embedding_size, 1, 1 << 16,
                     "ELECTRA's embedding width (projected to hidden_size); null: the preset's, else hidden_size");
  s.boolean("sinusoidal_positions", &C::sinusoidal_positions, "DistilBERT's fixed sinusoidal position table");
  s.embed(&C::attention);
  s.check([](const C& c, const std::string& key) {
    parse_activation(c.activation, config::key_path(key, "activation"));
    if (!c.model_type.empty()) {
      BertOptions probe;
      apply_model_type(probe, c.model_type, config::key_path(key, "model_type"));
    }
    if (c.preset.empty() && (!c.hidden_size || !c.num_layers || !c.num_heads || !c.intermediate_size)) {
      fail(config::key_path(key, "preset"),
           "no preset given, so hidden_size, num_layers, num_heads and intermediate_size are all required (presets: " +
               config::join(bert_preset_names()) + ")");
    }
  });
}

std::vector<std::string> bert_model_keys(bool attention_switches) {
  std::vector<std::string> keys;
  const auto& switches = encoder_attention_fields();
  for (const auto& f : config::schema_of<BertModelConfig>().fields()) {
    const bool optional = f.key == "layer_norm_eps" || f.key == "type_vocab_size" || f.key == "pad_token_id" ||
                          f.key == "model_type" || f.key == "embedding_size" || f.key == "sinusoidal_positions";
    const bool is_switch = std::find(switches.begin(), switches.end(), f.key) != switches.end();
    if (!optional && (attention_switches || !is_switch)) keys.push_back(f.key);
  }
  return keys;
}

BertModelConfig parse_bert_model_config(const nlohmann::json& model_cfg, const std::string& key) {
  if (!model_cfg.is_object()) fail(key, "must be a JSON object, got " + model_cfg.dump());
  return config::parse<BertModelConfig>(model_cfg, key);
}

BertOptions bert_options(const BertModelConfig& c, int64_t vocab_size, const std::string& key) {
  TORCH_CHECK(vocab_size > 0, "bert: vocab_size must be positive, got ", vocab_size);
  BertOptions o;
  if (!c.preset.empty()) o = bert_preset(c.preset, vocab_size, config::key_path(key, "preset"));
  o.vocab_size(vocab_size);
  if (c.hidden_size) o.hidden_size(*c.hidden_size);
  if (c.num_layers) o.num_hidden_layers(*c.num_layers);
  if (c.num_heads) o.num_attention_heads(*c.num_heads);
  if (c.intermediate_size) o.intermediate_size(*c.intermediate_size);
  // Unset keys keep the preset's values (BertConfig's without a preset).
  o.hidden_act(c.activation)
      .hidden_dropout_prob(c.dropout.value_or(o.hidden_dropout_prob()))
      .attention_probs_dropout_prob(c.attention_dropout.value_or(o.attention_probs_dropout_prob()))
      .max_position_embeddings(c.max_length)
      .pre_layer_norm(c.pre_layer_norm)
      .layer_norm_eps(c.layer_norm_eps.value_or(o.layer_norm_eps()))
      .type_vocab_size(c.type_vocab_size.value_or(o.type_vocab_size()))
      .pad_token_id(c.pad_token_id.value_or(o.pad_token_id()))
      .attention(c.attention);
  const int64_t embedding = c.embedding_size.value_or(o.embedding_size());
  apply_model_type(o, c.model_type.empty() ? o.model_type() : c.model_type, config::key_path(key, "model_type"));
  if (o.model_type() == "electra") o.embedding_size(embedding);
  if (o.model_type() == "distilbert") o.sinusoidal_pos_embds(c.sinusoidal_positions);
  if (o.embedding_size() > 0 && o.model_type() != "electra") {
    fail(config::key_path(key, "embedding_size"), "only model_type electra has an embedding_size");
  }
  if (c.sinusoidal_positions && o.model_type() != "distilbert") {
    fail(config::key_path(key, "sinusoidal_positions"), "only model_type distilbert has sinusoidal positions");
  }
  if (o.pad_token_id() >= vocab_size) {
    fail(config::key_path(key, "pad_token_id"), "pad_token_id " + std::to_string(o.pad_token_id()) +
                                                    " is not below the vocabulary size " + std::to_string(vocab_size));
  }
  if (o.hidden_size() % o.num_attention_heads() != 0) {
    fail(config::key_path(key, "hidden_size"), "hidden_size " + std::to_string(o.hidden_size()) +
                                                   " is not divisible by num_heads " +
                                                   std::to_string(o.num_attention_heads()));
  }
  return o;
}

BertOptions bert_options_from_model_config(const nlohmann::json& model_cfg, int64_t vocab_size, const std::string& key) {
  return bert_options(parse_bert_model_config(model_cfg, key), vocab_size, key);
}

nlohmann::json bert_model_config(const BertOptions& o, const std::string& preset) {
  BertModelConfig c;
  c.preset = preset;
  c.hidden_size = o.hidden_size();
  c.num_layers = o.num_hidden_layers();
  c.num_heads = o.num_attention_heads();
  c.intermediate_size = o.intermediate_size();
  c.activation = o.hidden_act();
  c.dropout = o.hidden_dropout_prob();
  c.attention_dropout = o.attention_probs_dropout_prob();
  c.max_length = o.max_position_embeddings();
  c.pre_layer_norm = o.pre_layer_norm();
  // Only values that differ from BertConfig's, so attune's own runs keep their short section.
  const BertOptions d;
  if (o.layer_norm_eps() != d.layer_norm_eps()) c.layer_norm_eps = o.layer_norm_eps();
  if (o.type_vocab_size() != d.type_vocab_size()) c.type_vocab_size = o.type_vocab_size();
  if (o.pad_token_id() != d.pad_token_id()) c.pad_token_id = o.pad_token_id();
  if (o.model_type() == "distilbert") c.type_vocab_size.reset();  // it has none; model_type says so
  if (o.model_type() != "bert") c.model_type = o.model_type();
  if (o.model_type() == "electra") c.embedding_size = embedding_width(o);
  c.sinusoidal_positions = o.sinusoidal_pos_embds();
  c.attention = o.attention();
  nlohmann::json section = config::to_json(c);
  for (const char* key : {"layer_norm_eps", "type_vocab_size", "pad_token_id", "model_type", "embedding_size"}) {
    if (section.at(key).is_null()) section.erase(key);
  }
  if (!c.sinusoidal_positions) section.erase("sinusoidal_positions");
  drop_default_encoder_attention(section);
  return section;
}

}  // namespace attune::models
