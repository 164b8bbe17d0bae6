#include "models/bert/options.h"

#include "core/error.h"
#include "core/config.h"
#include "models/transformer/activation.h"

namespace attune::models {


nlohmann::json bert_options_to_hf_json(const BertOptions& o) {
  return {
      {"architectures", {"BertModel"}},
      {"model_type", "bert"},
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
      {"pad_token_id", o.pad_token_id()},
      {"initializer_range", o.initializer_range()},
      {"position_embedding_type", "absolute"},
      {"pre_layer_norm", o.pre_layer_norm()},
      {"add_pooling_layer", o.add_pooling_layer()},
  };
}

BertOptions bert_options_from_json(const nlohmann::json& config, const std::string& key) {
  if (!config.is_object()) fail(key, "must be a JSON object, got " + config.dump());
  const std::string model_type = config::string_or(config, "model_type", key, "bert");
  if (model_type != "bert") fail(key + ".model_type", "expected 'bert', got '" + model_type + "'");
  const std::string position = config::string_or(config, "position_embedding_type", key, "absolute");
  if (position != "absolute") {
    fail(key + ".position_embedding_type", "only 'absolute' is supported, got '" + position + "'");
  }
  // Decoder BERTs attend causally and cross-attend; this encoder would silently differ.
  if (config::bool_or(config, "is_decoder", key, false)) fail(key + ".is_decoder", "decoder BERT is not supported");
  if (config::bool_or(config, "add_cross_attention", key, false)) {
    fail(key + ".add_cross_attention", "cross-attention BERT is not supported");
  }
  const BertOptions d;
  BertOptions o;
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
      .type_vocab_size(config::int_or(config, "type_vocab_size", key, 1, d.type_vocab_size()))
      .layer_norm_eps(config::positive_or(config, "layer_norm_eps", key, d.layer_norm_eps()))
      .pad_token_id(config::int_or(config, "pad_token_id", key, 0, d.pad_token_id()))
      .initializer_range(config::positive_or(config, "initializer_range", key, d.initializer_range()))
      .pre_layer_norm(config::bool_or(config, "pre_layer_norm", key, d.pre_layer_norm()))
      .add_pooling_layer(config::bool_or(config, "add_pooling_layer", key, d.add_pooling_layer()));
  parse_activation(o.hidden_act(), key + ".hidden_act");
  if (o.hidden_size() % o.num_attention_heads() != 0) {
    fail(key + ".hidden_size", "hidden_size " + std::to_string(o.hidden_size()) +
                                   " is not divisible by num_attention_heads " +
                                   std::to_string(o.num_attention_heads()));
  }
  if (o.pad_token_id() >= o.vocab_size()) {
    fail(key + ".pad_token_id", "pad_token_id " + std::to_string(o.pad_token_id()) + " is not below vocab_size " +
                                    std::to_string(o.vocab_size()));
  }
  return o;
}

}  // namespace attune::models
