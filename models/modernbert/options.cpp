#include "models/modernbert/options.h"

#include "core/config.h"
#include "core/error.h"
#include "models/transformer/activation.h"

namespace attune::models {

bool modernbert_global_layer(const ModernBertOptions& o, int64_t index) {
  return index % o.global_attn_every_n_layers() == 0;
}

void check_modernbert_options(const ModernBertOptions& o, const std::string& where) {
  parse_activation(o.hidden_activation(), where + ".hidden_activation");
  parse_activation(o.classifier_activation(), where + ".classifier_activation");
  if (o.hidden_size() % o.num_attention_heads() != 0) {
    fail(where + ".hidden_size", "hidden_size " + std::to_string(o.hidden_size()) +
                                     " is not divisible by num_attention_heads " +
                                     std::to_string(o.num_attention_heads()));
  }
  if ((o.hidden_size() / o.num_attention_heads()) % 2 != 0) {
    fail(where + ".hidden_size", "rotary positions need an even head size, got " +
                                     std::to_string(o.hidden_size() / o.num_attention_heads()));
  }
  if (o.pad_token_id() >= o.vocab_size()) {
    fail(where + ".pad_token_id", "pad_token_id " + std::to_string(o.pad_token_id()) + " is not below vocab_size " +
                                      std::to_string(o.vocab_size()));
  }
  if (o.classifier_pooling() != "cls" && o.classifier_pooling() != "mean") {
    fail(where + ".classifier_pooling", "unknown pooling '" + o.classifier_pooling() + "' (known: cls, mean)");
  }
  if (o.global_attn_every_n_layers() < 1) fail(where + ".global_attn_every_n_layers", "must be at least 1");
  if (o.local_attention() < 0) fail(where + ".local_attention", "must not be negative");
}

namespace {

const char* layer_type(const ModernBertOptions& o, int64_t index) {
  return modernbert_global_layer(o, index) ? "full_attention" : "sliding_attention";
}

// rope_parameters[type].rope_theta, else the legacy key, else `fallback`.
double rope_theta(const nlohmann::json& config, const std::string& key, const char* type, const char* legacy,
                  double fallback) {
  const auto params = config.find("rope_parameters");
  if (params != config.end() && params->is_object() && params->contains(type) && (*params)[type].is_object()) {
    const nlohmann::json& p = (*params)[type];
    const std::string where = key + ".rope_parameters." + type;
    const std::string kind = p.value("rope_type", std::string("default"));
    if (kind != "default") fail(where + ".rope_type", "only the default rope is supported, got '" + kind + "'");
    if (p.contains("rope_theta") && !p["rope_theta"].is_null()) {
      return config::positive_or(p, "rope_theta", where, fallback);
    }
  }
  if (config.contains(legacy) && !config[legacy].is_null()) return config::positive_or(config, legacy, key, fallback);
  return fallback;
}

}  // namespace

ModernBertOptions modernbert_options_from_hf_json(const nlohmann::json& config, const std::string& key) {
  ModernBertOptions o;
  o.vocab_size(config::int_or(config, "vocab_size", key, 1, o.vocab_size()))
      .hidden_size(config::int_or(config, "hidden_size", key, 1, o.hidden_size()))
      .intermediate_size(config::int_or(config, "intermediate_size", key, 1, o.intermediate_size()))
      .num_hidden_layers(config::int_or(config, "num_hidden_layers", key, 1, o.num_hidden_layers()))
      .num_attention_heads(config::int_or(config, "num_attention_heads", key, 1, o.num_attention_heads()))
      .hidden_activation(config::string_or(config, "hidden_activation", key, o.hidden_activation()))
      .max_position_embeddings(config::int_or(config, "max_position_embeddings", key, 1, o.max_position_embeddings()))
      .norm_eps(config::positive_or(config, "norm_eps", key, o.norm_eps()))
      .norm_bias(config::bool_or(config, "norm_bias", key, o.norm_bias()))
      .pad_token_id(config::int_or(config, "pad_token_id", key, 0, o.pad_token_id()))
      .attention_bias(config::bool_or(config, "attention_bias", key, o.attention_bias()))
      .attention_dropout(config::rate_or(config, "attention_dropout", key, o.attention_dropout()))
      .global_attn_every_n_layers(
          config::int_or(config, "global_attn_every_n_layers", key, 1, o.global_attn_every_n_layers()))
      .local_attention(config::int_or(config, "local_attention", key, 0, o.local_attention()))
      .embedding_dropout(config::rate_or(config, "embedding_dropout", key, o.embedding_dropout()))
      .mlp_bias(config::bool_or(config, "mlp_bias", key, o.mlp_bias()))
      .mlp_dropout(config::rate_or(config, "mlp_dropout", key, o.mlp_dropout()))
      .decoder_bias(config::bool_or(config, "decoder_bias", key, o.decoder_bias()))
      .classifier_pooling(config::string_or(config, "classifier_pooling", key, o.classifier_pooling()))
      .classifier_dropout(config::rate_or(config, "classifier_dropout", key, o.classifier_dropout()))
      .classifier_bias(config::bool_or(config, "classifier_bias", key, o.classifier_bias()))
      .classifier_activation(config::string_or(config, "classifier_activation", key, o.classifier_activation()))
      .initializer_range(config::positive_or(config, "initializer_range", key, o.initializer_range()))
      .initializer_cutoff_factor(
          config::positive_or(config, "initializer_cutoff_factor", key, o.initializer_cutoff_factor()));
  o.global_rope_theta(rope_theta(config, key, "full_attention", "global_rope_theta", o.global_rope_theta()));
  // transformers 4 used the global base for local layers when local_rope_theta was null.
  const bool local_null = config.contains("local_rope_theta") && config["local_rope_theta"].is_null();
  o.local_rope_theta(rope_theta(config, key, "sliding_attention", "local_rope_theta",
                                local_null ? o.global_rope_theta() : o.local_rope_theta()));
  if (config.contains("layer_types") && !config["layer_types"].is_null()) {
    const nlohmann::json& types = config["layer_types"];
    if (!types.is_array() || static_cast<int64_t>(types.size()) != o.num_hidden_layers()) {
      fail(key + ".layer_types", "expected one entry per layer (" + std::to_string(o.num_hidden_layers()) + ")");
    }
    for (int64_t i = 0; i < o.num_hidden_layers(); ++i) {
      if (types[i] != layer_type(o, i)) {
        fail(key + ".layer_types", "layer " + std::to_string(i) + " is " + types[i].dump() +
                                       ", but global_attn_every_n_layers " +
                                       std::to_string(o.global_attn_every_n_layers()) + " makes it " +
                                       layer_type(o, i) + " (attune follows that pattern only)");
      }
    }
  }
  check_modernbert_options(o, key);
  return o;
}

nlohmann::json modernbert_options_to_hf_json(const ModernBertOptions& o) {
  nlohmann::json types = nlohmann::json::array();
  for (int64_t i = 0; i < o.num_hidden_layers(); ++i) types.push_back(layer_type(o, i));
  return {
      {"architectures", {"ModernBertModel"}},
      {"model_type", "modernbert"},
      {"vocab_size", o.vocab_size()},
      {"hidden_size", o.hidden_size()},
      {"intermediate_size", o.intermediate_size()},
      {"num_hidden_layers", o.num_hidden_layers()},
      {"num_attention_heads", o.num_attention_heads()},
      {"hidden_activation", o.hidden_activation()},
      {"max_position_embeddings", o.max_position_embeddings()},
      {"norm_eps", o.norm_eps()},
      {"norm_bias", o.norm_bias()},
      {"pad_token_id", o.pad_token_id()},
      {"attention_bias", o.attention_bias()},
      {"attention_dropout", o.attention_dropout()},
      {"global_attn_every_n_layers", o.global_attn_every_n_layers()},
      {"layer_types", types},
      {"local_attention", o.local_attention()},
      {"rope_parameters",
       {{"full_attention", {{"rope_type", "default"}, {"rope_theta", o.global_rope_theta()}}},
        {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", o.local_rope_theta()}}}}},
      {"global_rope_theta", o.global_rope_theta()},
      {"local_rope_theta", o.local_rope_theta()},
      {"embedding_dropout", o.embedding_dropout()},
      {"mlp_bias", o.mlp_bias()},
      {"mlp_dropout", o.mlp_dropout()},
      {"decoder_bias", o.decoder_bias()},
      {"classifier_pooling", o.classifier_pooling()},
      {"classifier_dropout", o.classifier_dropout()},
      {"classifier_bias", o.classifier_bias()},
      {"classifier_activation", o.classifier_activation()},
      {"initializer_range", o.initializer_range()},
      {"initializer_cutoff_factor", o.initializer_cutoff_factor()},
      {"tie_word_embeddings", true},
  };
}

}  // namespace attune::models
