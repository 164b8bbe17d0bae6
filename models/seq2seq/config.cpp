#include "models/seq2seq/config.h"

#include "core/error.h"
#include "core/schema.h"
#include "models/transformer/activation.h"

namespace attune::models {


namespace {

struct Preset {
  const char* name;
  int64_t d_model, layers, heads, ffn;
};

const std::vector<Preset>& presets() {
  static const std::vector<Preset> p = {{"transformer-tiny", 64, 2, 4, 256},
                                        {"transformer-small", 512, 6, 4, 1024},
                                        {"transformer-base", 512, 6, 8, 2048}};
  return p;
}

}  // namespace

std::vector<std::string> seq2seq_preset_names() {
  std::vector<std::string> names;
  for (const Preset& p : presets()) names.push_back(p.name);
  return names;
}

Seq2SeqOptions seq2seq_preset(const std::string& name, int64_t vocab_size, const std::string& where) {
  for (const Preset& p : presets()) {
    if (name == p.name) {
      return Seq2SeqOptions(vocab_size).d_model(p.d_model).encoder_layers(p.layers).decoder_layers(p.layers)
          .num_heads(p.heads).ffn_dim(p.ffn);
    }
  }
  fail(where, "unknown preset '" + name + "' (known: " + config::join(seq2seq_preset_names()) + ")");
}

void Seq2SeqModelConfig::describe(config::Schema<Seq2SeqModelConfig>& s) {
  using C = Seq2SeqModelConfig;
  s.choice("name", &C::name, {"transformer"}, "the encoder-decoder");
  s.optional_string("preset", &C::preset, "named sizes (" + config::join(seq2seq_preset_names()) + "); null: give every size");
  s.optional_integer("d_model", &C::d_model, 1, 1 << 16, "width; null: the preset's");
  s.optional_integer("encoder_layers", &C::encoder_layers, 1, 1024, "encoder layers; null: the preset's");
  s.optional_integer("decoder_layers", &C::decoder_layers, 1, 1024, "decoder layers; null: the preset's");
  s.optional_integer("num_heads", &C::num_heads, 1, 1024, "attention heads; null: the preset's");
  s.optional_integer("ffn_dim", &C::ffn_dim, 1, 1 << 20, "feed-forward width; null: the preset's");
  s.optional_string("activation", &C::activation, "feed-forward activation; null: relu");
  s.optional_rate("dropout", &C::dropout, "hidden dropout; null: 0.1");
  s.optional_rate("attention_dropout", &C::attention_dropout, "attention-probability dropout; null: 0");
  s.optional_rate("activation_dropout", &C::activation_dropout, "dropout after the feed-forward activation; null: 0");
  s.tristate("pre_layer_norm", &C::pre_layer_norm, "pre-LN layers; null: false (post-LN, as the paper)");
  s.optional_string("positions", &C::positions, "sinusoidal or learned; null: sinusoidal");
  s.optional_integer("max_positions", &C::max_positions, 2, 1 << 20, "positions per side; null: 1024");
  s.tristate("share_embeddings", &C::share_embeddings, "one embedding for both sides; null: true");
  s.tristate("tie_output", &C::tie_output, "output projection tied to the embedding; null: true");
  s.tristate("scale_embedding", &C::scale_embedding, "embeddings scaled by sqrt(d_model); null: true");
  s.optional_number("layer_norm_eps", &C::layer_norm_eps, 1e-300, 1.0, "layer norm epsilon; null: 1e-5");
  s.optional_string("init", &C::init, "normal or xavier; null: normal");
  s.optional_number("init_std", &C::init_std, 1e-300, 1e3, "std of the normal initialisation; null: 0.02");
  s.check([](const C& c, const std::string& key) {
    if (!c.activation.empty()) parse_activation(c.activation, config::key_path(key, "activation"));
    if (!c.init.empty() && c.init != "normal" && c.init != "xavier") {
      fail(config::key_path(key, "init"), "unknown value '" + c.init + "' (known: normal, xavier)");
    }
    if (!c.positions.empty() && c.positions != "sinusoidal" && c.positions != "learned") {
      fail(config::key_path(key, "positions"), "unknown value '" + c.positions + "' (known: sinusoidal, learned)");
    }
    if (c.preset.empty() && (!c.d_model || !c.encoder_layers || !c.decoder_layers || !c.num_heads || !c.ffn_dim)) {
      fail(config::key_path(key, "preset"),
           "no preset given, so d_model, encoder_layers, decoder_layers, num_heads and ffn_dim are all required "
           "(presets: " + config::join(seq2seq_preset_names()) + ")");
    }
  });
}

Seq2SeqModelConfig parse_seq2seq_model_config(const nlohmann::json& model_cfg, const std::string& key) {
  if (!model_cfg.is_object()) fail(key, "must be a JSON object, got " + model_cfg.dump());
  return config::parse<Seq2SeqModelConfig>(model_cfg, key);
}

Seq2SeqOptions seq2seq_options(const Seq2SeqModelConfig& c, int64_t vocab_size, int64_t pad_id, const std::string& key) {
  Seq2SeqOptions o(vocab_size);
  if (!c.preset.empty()) o = seq2seq_preset(c.preset, vocab_size, config::key_path(key, "preset"));
  if (c.d_model) o.d_model(*c.d_model);
  if (c.encoder_layers) o.encoder_layers(*c.encoder_layers);
  if (c.decoder_layers) o.decoder_layers(*c.decoder_layers);
  if (c.num_heads) o.num_heads(*c.num_heads);
  if (c.ffn_dim) o.ffn_dim(*c.ffn_dim);
  auto flag = [](int value, bool fallback) { return value < 0 ? fallback : value == 1; };
  o.activation(c.activation.empty() ? "relu" : c.activation)
      .dropout(c.dropout.value_or(0.1))
      .attention_dropout(c.attention_dropout.value_or(0.0))
      .activation_dropout(c.activation_dropout.value_or(0.0))
      .pre_layer_norm(flag(c.pre_layer_norm, false))
      .positions(c.positions.empty() ? "sinusoidal" : c.positions)
      .max_positions(c.max_positions.value_or(1024))
      .share_embeddings(flag(c.share_embeddings, true))
      .tie_output(flag(c.tie_output, true))
      .scale_embedding(flag(c.scale_embedding, true))
      .layer_norm_eps(c.layer_norm_eps.value_or(1e-5))
      .init(c.init.empty() ? "normal" : c.init)
      .init_std(c.init_std.value_or(0.02))
      .pad_id(pad_id);
  if (o.d_model() % o.num_heads() != 0) {
    fail(config::key_path(key, "d_model"), "d_model " + std::to_string(o.d_model()) + " is not divisible by num_heads " +
                                               std::to_string(o.num_heads()));
  }
  return o;
}

Seq2SeqOptions seq2seq_options_from_config(const nlohmann::json& cfg, int64_t vocab_size, int64_t pad_id,
                                           const std::string& key) {
  return seq2seq_options(parse_seq2seq_model_config(cfg, key), vocab_size, pad_id, key);
}

nlohmann::json seq2seq_model_config(const Seq2SeqOptions& o, const std::string& preset) {
  return {{"name", "transformer"},
          {"preset", preset.empty() ? nlohmann::json(nullptr) : nlohmann::json(preset)},
          {"d_model", o.d_model()},
          {"encoder_layers", o.encoder_layers()},
          {"decoder_layers", o.decoder_layers()},
          {"num_heads", o.num_heads()},
          {"ffn_dim", o.ffn_dim()},
          {"activation", o.activation()},
          {"dropout", o.dropout()},
          {"attention_dropout", o.attention_dropout()},
          {"activation_dropout", o.activation_dropout()},
          {"pre_layer_norm", o.pre_layer_norm()},
          {"positions", o.positions()},
          {"max_positions", o.max_positions()},
          {"share_embeddings", o.share_embeddings()},
          {"tie_output", o.tie_output()},
          {"scale_embedding", o.scale_embedding()},
          {"layer_norm_eps", o.layer_norm_eps()},
          {"init", o.init()},
          {"init_std", o.init_std()}};
}

nlohmann::json seq2seq_default_config(const std::string& preset) {
  Seq2SeqModelConfig c;
  c.preset = preset;
  return config::to_json(c);
}

}  // namespace attune::models
