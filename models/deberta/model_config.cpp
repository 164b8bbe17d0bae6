#include "models/deberta/model_config.h"

#include "core/error.h"
#include "models/common/vocabulary.h"
#include "models/transformer/activation.h"

#include <algorithm>

namespace attune::models {
namespace {

struct DebertaPresetSize {
  const char* name;
  int64_t layers;
  int64_t hidden;
  int64_t heads;
  int64_t intermediate;
};

// The published microsoft/deberta-v3-* configs, smallest first.
constexpr DebertaPresetSize kDebertaPresets[] = {
    {"v3-xsmall", 12, 384, 6, 1536},
    {"v3-small", 6, 768, 12, 3072},
    {"v3-base", 12, 768, 12, 3072},
    {"v3-large", 24, 1024, 16, 4096},
};

}  // namespace

std::vector<std::string> deberta_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kDebertaPresets) names.emplace_back(p.name);
  return names;
}

DebertaV2Options deberta_preset(const std::string& name, int64_t vocab_size, const std::string& where) {
  for (const auto& p : kDebertaPresets) {
    if (name == p.name) return deberta_v3_options(vocab_size, p.hidden, p.layers, p.heads, p.intermediate);
  }
  fail(where, "unknown preset '" + name + "' (known: " + config::join(deberta_preset_names()) + ")");
}

void DebertaModelConfig::describe(config::Schema<DebertaModelConfig>& s) {
  using C = DebertaModelConfig;
  s.choice("name", &C::name, {"deberta"}, "the encoder (DeBERTa-v2 and v3)");
  s.optional_string("preset", &C::preset,
                    "named sizes (" + config::join(deberta_preset_names()) + "); null: give every size");
  s.optional_integer("vocab_size", &C::vocab_size, 1, 1LL << 40,
                     "embedding rows, at least the tokenizer's tokens; null: the tokenizer's");
  s.optional_integer("hidden_size", &C::hidden_size, 1, 1 << 16, "width; null: the preset's");
  s.optional_integer("num_layers", &C::num_layers, 1, 1024, "layers; null: the preset's");
  s.optional_integer("num_heads", &C::num_heads, 1, 1024, "attention heads; null: the preset's");
  s.optional_integer("intermediate_size", &C::intermediate_size, 1, 1 << 20, "feed-forward width; null: the preset's");
  s.string("activation", &C::activation, "feed-forward activation (gelu, relu, gelu_new, ...)");
  s.rate("dropout", &C::dropout, "hidden dropout (also on the relative embeddings)");
  s.rate("attention_dropout", &C::attention_dropout, "attention-probability dropout");
  s.integer("max_length", &C::max_length, 1, 1 << 20,
            "max_position_embeddings: the absolute position table, and the relative span when max_relative_positions < 1");
  s.boolean("relative_attention", &C::relative_attention, "disentangled attention over relative positions");
  s.integer("max_relative_positions", &C::max_relative_positions, -(int64_t{1} << 20), 1 << 20,
            "relative distance span; < 1: max_length");
  s.integer("position_buckets", &C::position_buckets, -(int64_t{1} << 20), 1 << 20,
            "log buckets of relative distance per side; <= 0: none");
  s.string_list("pos_att_type", &C::pos_att_type, "relative attention terms (c2p, p2c)");
  s.boolean("position_biased_input", &C::position_biased_input, "add absolute position embeddings to the input");
  s.boolean("share_att_key", &C::share_att_key, "project relative embeddings with query/key projections");
  s.string("norm_rel_ebd", &C::norm_rel_ebd, "normalisation of the relative embeddings (none, layer_norm)");
  s.number("layer_norm_eps", &C::layer_norm_eps, 1e-300, 1.0, "layer norm epsilon");
  s.integer("type_vocab_size", &C::type_vocab_size, 0, 1 << 20, "token type embeddings; 0: none");
  s.optional_integer("embedding_size", &C::embedding_size, 1, 1 << 16,
                     "embedding width (projected to hidden_size); null: hidden_size");
  s.integer("pad_token_id", &C::pad_token_id, 0, int64_t{1} << 40, "id of the padding token");
  s.string("pooler_activation", &C::pooler_activation, "the context pooler's activation");
  s.rate("pooler_dropout", &C::pooler_dropout, "dropout before the context pooler");
  s.boolean("legacy_mlm_head", &C::legacy_mlm_head,
            "masked-LM head as transformers' legacy cls.predictions (true) or lm_predictions.lm_head (false)");
  s.check([](const C& c, const std::string& key) {
    parse_activation(c.activation, config::key_path(key, "activation"));
    parse_activation(c.pooler_activation, config::key_path(key, "pooler_activation"));
    if (c.preset.empty() && (!c.hidden_size || !c.num_layers || !c.num_heads || !c.intermediate_size)) {
      fail(config::key_path(key, "preset"),
           "no preset given, so hidden_size, num_layers, num_heads and intermediate_size are all required (presets: " +
               config::join(deberta_preset_names()) + ")");
    }
  });
}

DebertaModelConfig parse_deberta_model_config(const nlohmann::json& model_cfg, const std::string& key) {
  if (!model_cfg.is_object()) fail(key, "must be a JSON object, got " + model_cfg.dump());
  return config::parse<DebertaModelConfig>(model_cfg, key);
}

DebertaV2Options deberta_options(const DebertaModelConfig& c, int64_t tokenizer_vocab, const std::string& key) {
  TORCH_CHECK(tokenizer_vocab > 0, "deberta-v2: vocab_size must be positive, got ", tokenizer_vocab);
  const int64_t vocab_size = embedding_rows(c.vocab_size, tokenizer_vocab, key);
  DebertaV2Options o;
  if (!c.preset.empty()) o = deberta_preset(c.preset, vocab_size, config::key_path(key, "preset"));
  o.vocab_size(vocab_size);
  if (c.hidden_size) o.hidden_size(*c.hidden_size);
  if (c.num_layers) o.num_hidden_layers(*c.num_layers);
  if (c.num_heads) o.num_attention_heads(*c.num_heads);
  if (c.intermediate_size) o.intermediate_size(*c.intermediate_size);
  o.hidden_act(c.activation)
      .hidden_dropout_prob(c.dropout)
      .attention_probs_dropout_prob(c.attention_dropout)
      .max_position_embeddings(c.max_length)
      .relative_attention(c.relative_attention)
      .max_relative_positions(c.max_relative_positions)
      .position_buckets(c.position_buckets)
      .pos_att_type(c.pos_att_type)
      .position_biased_input(c.position_biased_input)
      .share_att_key(c.share_att_key)
      .norm_rel_ebd(c.norm_rel_ebd)
      .layer_norm_eps(c.layer_norm_eps)
      .type_vocab_size(c.type_vocab_size)
      .embedding_size(c.embedding_size && *c.embedding_size != o.hidden_size() ? *c.embedding_size : 0)
      .pad_token_id(c.pad_token_id)
      .pooler_hidden_act(c.pooler_activation)
      .pooler_dropout(c.pooler_dropout)
      .legacy(c.legacy_mlm_head);
  // The section's own key names for what a user is likely to get wrong; the rest below.
  if (o.hidden_size() % o.num_attention_heads() != 0) {
    fail(config::key_path(key, "hidden_size"), "hidden_size " + std::to_string(o.hidden_size()) +
                                                   " is not divisible by num_heads " +
                                                   std::to_string(o.num_attention_heads()));
  }
  if (o.pad_token_id() >= vocab_size) {
    fail(config::key_path(key, "pad_token_id"), "pad_token_id " + std::to_string(o.pad_token_id()) +
                                                    " is not below the vocabulary size " + std::to_string(vocab_size));
  }
  check_deberta_options(o, key);
  return o;
}

DebertaV2Options deberta_options_from_model_config(const nlohmann::json& model_cfg, int64_t vocab_size,
                                                   const std::string& key) {
  return deberta_options(parse_deberta_model_config(model_cfg, key), vocab_size, key);
}

nlohmann::json deberta_model_config(const DebertaV2Options& o, const std::string& preset) {
  DebertaModelConfig c;
  c.preset = preset;
  c.hidden_size = o.hidden_size();
  c.num_layers = o.num_hidden_layers();
  c.num_heads = o.num_attention_heads();
  c.intermediate_size = o.intermediate_size();
  c.activation = o.hidden_act();
  c.dropout = o.hidden_dropout_prob();
  c.attention_dropout = o.attention_probs_dropout_prob();
  c.max_length = o.max_position_embeddings();
  c.relative_attention = o.relative_attention();
  c.max_relative_positions = o.max_relative_positions();
  c.position_buckets = o.position_buckets();
  c.pos_att_type = o.pos_att_type();
  c.position_biased_input = o.position_biased_input();
  c.share_att_key = o.share_att_key();
  c.norm_rel_ebd = o.norm_rel_ebd();
  c.layer_norm_eps = o.layer_norm_eps();
  c.type_vocab_size = o.type_vocab_size();
  c.embedding_size = deberta_embedding_width(o);
  c.pad_token_id = o.pad_token_id();
  c.vocab_size = o.vocab_size();
  c.pooler_activation = o.pooler_hidden_act();
  c.pooler_dropout = o.pooler_dropout();
  c.legacy_mlm_head = o.legacy();
  return config::to_json(c);
}

}  // namespace attune::models
