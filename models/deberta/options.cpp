#include "models/deberta/options.h"

#include "core/config.h"
#include "core/error.h"
#include "models/transformer/activation.h"

#include <algorithm>
#include <cctype>

namespace attune::models {
namespace {

// Names carry a deberta_ prefix: the layer is built as a unity build, where anonymous
// namespaces of several files share one translation unit.

const std::vector<std::string>& deberta_pos_att_types() {
  static const std::vector<std::string> types = {"c2p", "p2c"};
  return types;
}

std::string deberta_trim_lower(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  const size_t end = s.find_last_not_of(" \t");
  std::string out = begin == std::string::npos ? std::string() : s.substr(begin, end - begin + 1);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "a|b" -> {"a", "b"}, stripped and lower-cased, as the modeling code splits norm_rel_ebd
// and DebertaV2Config splits a string pos_att_type.
std::vector<std::string> deberta_split_bar(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t bar = s.find('|', start);
    parts.push_back(deberta_trim_lower(s.substr(start, bar == std::string::npos ? std::string::npos : bar - start)));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return parts;
}

// Any integer (max_relative_positions and position_buckets use negatives for "off").
int64_t deberta_any_int_or(const nlohmann::json& config, const std::string& name, const std::string& key,
                           int64_t fallback) {
  const auto it = config.find(name);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(config::key_path(key, name), "must be an integer, got " + it->dump());
  return it->get<int64_t>();
}

// A list of names, a "p2c|c2p" string (DebertaV2Config's backward-compatible form) or null.
std::vector<std::string> deberta_read_pos_att_type(const nlohmann::json& config, const std::string& key) {
  const auto it = config.find("pos_att_type");
  if (it == config.end() || it->is_null()) return {};
  if (it->is_string()) return deberta_split_bar(it->get<std::string>());
  if (!it->is_array()) {
    fail(config::key_path(key, "pos_att_type"), "must be a list such as [\"p2c\", \"c2p\"], got " + it->dump());
  }
  std::vector<std::string> out;
  for (const auto& item : *it) {
    if (!item.is_string()) {
      fail(config::key_path(key, "pos_att_type"), "must be a list such as [\"p2c\", \"c2p\"], got " + it->dump());
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

int64_t deberta_embedding_width(const DebertaV2Options& o) {
  return o.embedding_size() > 0 ? o.embedding_size() : o.hidden_size();
}

int64_t deberta_relative_span(const DebertaV2Options& o) {
  return o.max_relative_positions() < 1 ? o.max_position_embeddings() : o.max_relative_positions();
}

int64_t deberta_position_embedding_size(const DebertaV2Options& o) {
  return o.position_buckets() > 0 ? o.position_buckets() : deberta_relative_span(o);
}

bool deberta_has_pos_att(const DebertaV2Options& o, const std::string& type) {
  return std::find(o.pos_att_type().begin(), o.pos_att_type().end(), type) != o.pos_att_type().end();
}

bool deberta_norm_rel_ebd_layer_norm(const DebertaV2Options& o) {
  const auto parts = deberta_split_bar(o.norm_rel_ebd());
  return std::find(parts.begin(), parts.end(), "layer_norm") != parts.end();
}

DebertaV2Options deberta_v3_options(int64_t vocab_size, int64_t hidden_size, int64_t layers, int64_t heads,
                                    int64_t intermediate_size) {
  return DebertaV2Options()
      .vocab_size(vocab_size)
      .hidden_size(hidden_size)
      .num_hidden_layers(layers)
      .num_attention_heads(heads)
      .intermediate_size(intermediate_size)
      .max_position_embeddings(512)
      .type_vocab_size(0)
      .layer_norm_eps(1e-7)
      .relative_attention(true)
      .max_relative_positions(-1)
      .position_buckets(256)
      .pos_att_type({"p2c", "c2p"})
      .position_biased_input(false)
      .share_att_key(true)
      .norm_rel_ebd("layer_norm");
}

void check_deberta_options(const DebertaV2Options& o, const std::string& key) {
  const auto at = [&key](const char* field) { return config::key_path(key, field); };
  if (o.vocab_size() < 1) fail(at("vocab_size"), "must be a positive integer, got " + std::to_string(o.vocab_size()));
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"hidden_size", o.hidden_size()},
                                    {"num_hidden_layers", o.num_hidden_layers()},
                                    {"num_attention_heads", o.num_attention_heads()},
                                    {"intermediate_size", o.intermediate_size()},
                                    {"max_position_embeddings", o.max_position_embeddings()}}) {
    if (value < 1) fail(at(name), "must be a positive integer, got " + std::to_string(value));
  }
  if (o.type_vocab_size() < 0) fail(at("type_vocab_size"), "must be >= 0, got " + std::to_string(o.type_vocab_size()));
  if (o.embedding_size() < 0) fail(at("embedding_size"), "must be >= 0, got " + std::to_string(o.embedding_size()));
  if (o.hidden_size() % o.num_attention_heads() != 0) {
    fail(at("hidden_size"), "hidden_size " + std::to_string(o.hidden_size()) + " is not divisible by num_attention_heads " +
                                std::to_string(o.num_attention_heads()));
  }
  if (o.pad_token_id() < 0 || o.pad_token_id() >= o.vocab_size()) {
    fail(at("pad_token_id"), "pad_token_id " + std::to_string(o.pad_token_id()) + " is not in [0, vocab_size " +
                                 std::to_string(o.vocab_size()) + ")");
  }
  if (!(o.layer_norm_eps() > 0.0)) fail(at("layer_norm_eps"), "must be > 0");
  for (const auto& [name, rate] : {std::pair<const char*, double>{"hidden_dropout_prob", o.hidden_dropout_prob()},
                                   {"attention_probs_dropout_prob", o.attention_probs_dropout_prob()},
                                   {"pooler_dropout", o.pooler_dropout()}}) {
    if (!(rate >= 0.0 && rate < 1.0)) fail(at(name), "must be in [0, 1), got " + std::to_string(rate));
  }
  parse_activation(o.hidden_act(), at("hidden_act"));
  parse_activation(o.pooler_hidden_act(), at("pooler_hidden_act"));
  for (const auto& type : o.pos_att_type()) {
    const auto& known = deberta_pos_att_types();
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      fail(at("pos_att_type"), "unknown attention type '" + type + "' (supported: " + config::join(known) + ")");
    }
  }
  for (const auto& part : deberta_split_bar(o.norm_rel_ebd())) {
    if (part != "none" && part != "layer_norm") {
      fail(at("norm_rel_ebd"), "unknown value '" + part + "' (supported: none, layer_norm)");
    }
  }
  // make_log_bucket_position divides by bucket_size / 2 and by log((max_position - 1) / (bucket_size / 2)):
  // outside these bounds transformers computes NaN or infinite buckets.
  if (o.position_buckets() == 1) fail(at("position_buckets"), "must be >= 2 (or <= 0 for no buckets), got 1");
  if (o.relative_attention() && o.position_buckets() > 0 &&
      deberta_relative_span(o) - 1 <= o.position_buckets() / 2) {
    fail(at("position_buckets"), "position_buckets " + std::to_string(o.position_buckets()) +
                                     " needs max_relative_positions (or max_position_embeddings) above " +
                                     std::to_string(o.position_buckets() / 2 + 1) + ", got " +
                                     std::to_string(deberta_relative_span(o)));
  }
}

nlohmann::json deberta_options_to_hf_json(const DebertaV2Options& o) {
  return {
      {"architectures", {"DebertaV2Model"}},
      {"model_type", "deberta-v2"},
      {"vocab_size", o.vocab_size()},
      {"hidden_size", o.hidden_size()},
      {"num_hidden_layers", o.num_hidden_layers()},
      {"num_attention_heads", o.num_attention_heads()},
      {"intermediate_size", o.intermediate_size()},
      {"hidden_act", o.hidden_act()},
      {"hidden_dropout_prob", o.hidden_dropout_prob()},
      {"attention_probs_dropout_prob", o.attention_probs_dropout_prob()},
      {"max_position_embeddings", o.max_position_embeddings()},
      {"type_vocab_size", o.type_vocab_size()},
      {"layer_norm_eps", o.layer_norm_eps()},
      {"relative_attention", o.relative_attention()},
      {"max_relative_positions", o.max_relative_positions()},
      {"position_buckets", o.position_buckets()},
      {"pos_att_type", o.pos_att_type()},
      {"position_biased_input", o.position_biased_input()},
      {"share_att_key", o.share_att_key()},
      {"norm_rel_ebd", o.norm_rel_ebd()},
      {"embedding_size", deberta_embedding_width(o)},
      {"pad_token_id", o.pad_token_id()},
      {"pooler_hidden_size", o.hidden_size()},
      {"pooler_hidden_act", o.pooler_hidden_act()},
      {"pooler_dropout", o.pooler_dropout()},
      {"initializer_range", o.initializer_range()},
      {"legacy", o.legacy()},
      {"add_pooling_layer", o.add_pooling_layer()},
  };
}

DebertaV2Options deberta_options_from_hf_json(const nlohmann::json& config, const std::string& key) {
  if (!config.is_object()) fail(key, "must be a JSON object, got " + config.dump());
  const std::string model_type = config::string_or(config, "model_type", key, "deberta-v2");
  if (model_type != "deberta-v2") {
    fail(config::key_path(key, "model_type"), "expected 'deberta-v2', got '" + model_type + "'");
  }
  if (deberta_any_int_or(config, "conv_kernel_size", key, 0) > 0) {
    fail(config::key_path(key, "conv_kernel_size"),
         "DeBERTa's convolution layer (conv_kernel_size > 0, deberta-v2-xlarge/xxlarge) is not supported");
  }
  const DebertaV2Options d;
  DebertaV2Options o;
  o.vocab_size(config::int_or(config, "vocab_size", key, 1, d.vocab_size()))
      .hidden_size(config::int_or(config, "hidden_size", key, 1, d.hidden_size()))
      .num_hidden_layers(config::int_or(config, "num_hidden_layers", key, 1, d.num_hidden_layers()))
      .num_attention_heads(config::int_or(config, "num_attention_heads", key, 1, d.num_attention_heads()))
      .intermediate_size(config::int_or(config, "intermediate_size", key, 1, d.intermediate_size()))
      .hidden_act(config::string_or(config, "hidden_act", key, d.hidden_act()))
      .hidden_dropout_prob(config::rate_or(config, "hidden_dropout_prob", key, d.hidden_dropout_prob()))
      .attention_probs_dropout_prob(
          config::rate_or(config, "attention_probs_dropout_prob", key, d.attention_probs_dropout_prob()))
      .max_position_embeddings(config::int_or(config, "max_position_embeddings", key, 1, d.max_position_embeddings()))
      .type_vocab_size(config::int_or(config, "type_vocab_size", key, 0, d.type_vocab_size()))
      .layer_norm_eps(config::positive_or(config, "layer_norm_eps", key, d.layer_norm_eps()))
      .relative_attention(config::bool_or(config, "relative_attention", key, d.relative_attention()))
      .max_relative_positions(deberta_any_int_or(config, "max_relative_positions", key, d.max_relative_positions()))
      .position_buckets(deberta_any_int_or(config, "position_buckets", key, d.position_buckets()))
      .pos_att_type(deberta_read_pos_att_type(config, key))
      .position_biased_input(config::bool_or(config, "position_biased_input", key, d.position_biased_input()))
      .share_att_key(config::bool_or(config, "share_att_key", key, d.share_att_key()))
      .norm_rel_ebd(config::string_or(config, "norm_rel_ebd", key, d.norm_rel_ebd()))
      .pad_token_id(config::int_or(config, "pad_token_id", key, 0, d.pad_token_id()))
      .pooler_hidden_act(config::string_or(config, "pooler_hidden_act", key, d.pooler_hidden_act()))
      .pooler_dropout(config::rate_or(config, "pooler_dropout", key, d.pooler_dropout()))
      .initializer_range(config::positive_or(config, "initializer_range", key, d.initializer_range()))
      .legacy(config::bool_or(config, "legacy", key, d.legacy()))
      .add_pooling_layer(config::bool_or(config, "add_pooling_layer", key, d.add_pooling_layer()));
  const int64_t embedding = config::int_or(config, "embedding_size", key, 1, o.hidden_size());
  o.embedding_size(embedding == o.hidden_size() ? 0 : embedding);
  check_deberta_options(o, key);
  // Keys the modeling code reads that this model has no room for: it would silently differ.
  const int64_t head_size = config::int_or(config, "attention_head_size", key, 1, o.hidden_size() / o.num_attention_heads());
  if (head_size * o.num_attention_heads() != o.hidden_size()) {
    fail(config::key_path(key, "attention_head_size"), "only hidden_size / num_attention_heads (" +
                                                           std::to_string(o.hidden_size() / o.num_attention_heads()) +
                                                           ") is supported, got " + std::to_string(head_size));
  }
  const int64_t pooler_size = config::int_or(config, "pooler_hidden_size", key, 1, o.hidden_size());
  if (pooler_size != o.hidden_size()) {
    fail(config::key_path(key, "pooler_hidden_size"), "only hidden_size (" + std::to_string(o.hidden_size()) +
                                                          ") is supported, got " + std::to_string(pooler_size));
  }
  return o;
}

}  // namespace attune::models
