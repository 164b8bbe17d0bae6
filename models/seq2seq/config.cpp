#include "models/seq2seq/config.h"

#include "core/error.h"
#include "core/config.h"
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

const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> f = {
      "name",       "preset",            "d_model",        "encoder_layers",   "decoder_layers",  "num_heads",
      "ffn_dim",    "activation",        "dropout",        "attention_dropout", "activation_dropout",
      "pre_layer_norm", "positions",     "max_positions",  "share_embeddings", "tie_output",      "scale_embedding",
      "layer_norm_eps", "init", "init_std"};
  return f;
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

Seq2SeqOptions seq2seq_options_from_config(const nlohmann::json& cfg, int64_t vocab_size, int64_t pad_id,
                                           const std::string& key) {
  if (!cfg.is_object()) fail(key, "must be a JSON object, got " + cfg.dump());
  config::reject_unknown(cfg, known_fields(), key);
  const std::string preset = config::string_or(cfg, "preset", key, "");
  const auto d = config::optional_int(cfg, "d_model", key, 1);
  const auto enc = config::optional_int(cfg, "encoder_layers", key, 1);
  const auto dec = config::optional_int(cfg, "decoder_layers", key, 1);
  const auto heads = config::optional_int(cfg, "num_heads", key, 1);
  const auto ffn = config::optional_int(cfg, "ffn_dim", key, 1);
  Seq2SeqOptions o(vocab_size);
  if (!preset.empty()) {
    o = seq2seq_preset(preset, vocab_size, key + ".preset");
  } else if (!d || !enc || !dec || !heads || !ffn) {
    fail(key + ".preset", "no preset given, so d_model, encoder_layers, decoder_layers, num_heads and ffn_dim are "
                          "all required (presets: " + config::join(seq2seq_preset_names()) + ")");
  }
  if (d) o.d_model(*d);
  if (enc) o.encoder_layers(*enc);
  if (dec) o.decoder_layers(*dec);
  if (heads) o.num_heads(*heads);
  if (ffn) o.ffn_dim(*ffn);
  const std::string activation = config::string_or(cfg, "activation", key, "relu");
  parse_activation(activation, key + ".activation");
  const std::string positions = config::string_or(cfg, "positions", key, "sinusoidal");
  const std::string init = config::string_or(cfg, "init", key, "normal");
  if (init != "normal" && init != "xavier") fail(key + ".init", "unknown value '" + init + "' (known: normal, xavier)");
  if (positions != "sinusoidal" && positions != "learned") {
    fail(key + ".positions", "unknown value '" + positions + "' (known: sinusoidal, learned)");
  }
  o.activation(activation)
      .dropout(config::rate_or(cfg, "dropout", key, 0.1))
      .attention_dropout(config::rate_or(cfg, "attention_dropout", key, 0.0))
      .activation_dropout(config::rate_or(cfg, "activation_dropout", key, 0.0))
      .pre_layer_norm(config::bool_or(cfg, "pre_layer_norm", key, false))
      .positions(positions)
      .max_positions(config::int_or(cfg, "max_positions", key, 2, 1024))
      .share_embeddings(config::bool_or(cfg, "share_embeddings", key, true))
      .tie_output(config::bool_or(cfg, "tie_output", key, true))
      .scale_embedding(config::bool_or(cfg, "scale_embedding", key, true))
      .layer_norm_eps(config::positive_or(cfg, "layer_norm_eps", key, 1e-5))
      .init(init)
      .init_std(config::positive_or(cfg, "init_std", key, 0.02))
      .pad_id(pad_id);
  if (o.d_model() % o.num_heads() != 0) {
    fail(key + ".d_model", "d_model " + std::to_string(o.d_model()) + " is not divisible by num_heads " +
                               std::to_string(o.num_heads()));
  }
  return o;
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
  nlohmann::json c = {{"name", "transformer"}, {"preset", preset}};
  for (const std::string& f : known_fields()) {
    if (!c.contains(f)) c[f] = nullptr;
  }
  return c;
}

}  // namespace attune::models
