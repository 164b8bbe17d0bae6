#include "models/bert/options.h"

#include "core/error.h"
#include "core/config.h"
#include "models/transformer/activation.h"

#include <algorithm>

namespace attune::models {


namespace {

bool roberta_like(const std::string& t) { return t == "roberta" || t == "xlm-roberta" || t == "camembert"; }

void check_sizes(const BertOptions& o, const std::string& key, const std::string& hidden_key,
                 const std::string& heads_key) {
  parse_activation(o.hidden_act(), key + "." + (o.model_type() == "distilbert" ? "activation" : "hidden_act"));
  if (o.hidden_size() % o.num_attention_heads() != 0) {
    fail(key + "." + hidden_key, hidden_key + " " + std::to_string(o.hidden_size()) + " is not divisible by " +
                                     heads_key + " " + std::to_string(o.num_attention_heads()));
  }
  if (o.pad_token_id() >= o.vocab_size()) {
    fail(key + ".pad_token_id", "pad_token_id " + std::to_string(o.pad_token_id()) + " is not below vocab_size " +
                                    std::to_string(o.vocab_size()));
  }
}

// DistilBertConfig: its own key names, no token types, LayerNorm eps fixed at 1e-12.
BertOptions distilbert_from_json(const nlohmann::json& config, const std::string& key) {
  BertOptions o;
  apply_model_type(o, "distilbert", key + ".model_type");
  o.vocab_size(config::int_or(config, "vocab_size", key, 1, 30522))
      .hidden_size(config::int_or(config, "dim", key, 1, 768))
      .num_hidden_layers(config::int_or(config, "n_layers", key, 1, 6))
      .num_attention_heads(config::int_or(config, "n_heads", key, 1, 12))
      .intermediate_size(config::int_or(config, "hidden_dim", key, 1, 3072))
      .hidden_act(config::string_or(config, "activation", key, "gelu"))
      .hidden_dropout_prob(config::rate_or(config, "dropout", key, 0.1))
      .attention_probs_dropout_prob(config::rate_or(config, "attention_dropout", key, 0.1))
      .max_position_embeddings(config::int_or(config, "max_position_embeddings", key, 1, 512))
      .sinusoidal_pos_embds(config::bool_or(config, "sinusoidal_pos_embds", key, false))
      .pad_token_id(config::int_or(config, "pad_token_id", key, 0, 0))
      .initializer_range(config::positive_or(config, "initializer_range", key, 0.02))
      .pre_layer_norm(config::bool_or(config, "pre_layer_norm", key, false))
      .add_pooling_layer(config::bool_or(config, "add_pooling_layer", key, false));
  if (o.sinusoidal_pos_embds() && o.hidden_size() % 2 != 0) {
    fail(key + ".dim", "sinusoidal_pos_embds needs an even dim, got " + std::to_string(o.hidden_size()));
  }
  check_sizes(o, key, "dim", "n_heads");
  return o;
}

nlohmann::json distilbert_to_json(const BertOptions& o) {
  return {
      {"architectures", {"DistilBertModel"}},
      {"model_type", "distilbert"},
      {"vocab_size", o.vocab_size()},
      {"dim", o.hidden_size()},
      {"n_layers", o.num_hidden_layers()},
      {"n_heads", o.num_attention_heads()},
      {"hidden_dim", o.intermediate_size()},
      {"activation", o.hidden_act()},
      {"dropout", o.hidden_dropout_prob()},
      {"attention_dropout", o.attention_probs_dropout_prob()},
      {"max_position_embeddings", o.max_position_embeddings()},
      {"sinusoidal_pos_embds", o.sinusoidal_pos_embds()},
      {"pad_token_id", o.pad_token_id()},
      {"initializer_range", o.initializer_range()},
      {"tie_weights_", true},
      {"pre_layer_norm", o.pre_layer_norm()},
      {"add_pooling_layer", o.add_pooling_layer()},
  };
}

}  // namespace

const std::vector<std::string>& bert_model_types() {
  static const std::vector<std::string> types = {"bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra"};
  return types;
}

BertOptions& apply_model_type(BertOptions& o, const std::string& model_type, const std::string& where) {
  const auto& types = bert_model_types();
  if (std::find(types.begin(), types.end(), model_type) == types.end()) {
    fail(where, "unsupported model_type '" + model_type + "' (supported: " + config::join(types) + ")");
  }
  o.model_type(model_type);
  o.positions_from_padding(roberta_like(model_type));
  o.pooler_act(model_type == "electra" ? "gelu" : model_type == "distilbert" ? "relu" : "tanh");
  o.lm_head_act(roberta_like(model_type) ? "gelu" : "");
  if (model_type == "distilbert") o.type_vocab_size(0).layer_norm_eps(1e-12);
  if (model_type != "electra") o.embedding_size(0);
  if (model_type != "distilbert") o.sinusoidal_pos_embds(false);
  return o;
}

int64_t embedding_width(const BertOptions& o) { return o.embedding_size() > 0 ? o.embedding_size() : o.hidden_size(); }

int64_t max_sequence_length(const BertOptions& o) {
  return o.max_position_embeddings() - (o.positions_from_padding() ? o.pad_token_id() + 1 : 0);
}

nlohmann::json bert_options_to_hf_json(const BertOptions& o) {
  if (o.model_type() == "distilbert") return distilbert_to_json(o);
  nlohmann::json j = {
      {"architectures", {"BertModel"}},
      {"model_type", o.model_type()},
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
  if (o.model_type() == "electra") j["embedding_size"] = embedding_width(o);
  if (roberta_like(o.model_type())) {
    j["bos_token_id"] = 0;
    j["eos_token_id"] = 2;
  }
  return j;
}

BertOptions bert_options_from_json(const nlohmann::json& config, const std::string& key) {
  if (!config.is_object()) fail(key, "must be a JSON object, got " + config.dump());
  const std::string model_type = config::string_or(config, "model_type", key, "bert");
  BertOptions probe;
  apply_model_type(probe, model_type, key + ".model_type");
  if (model_type == "distilbert") return distilbert_from_json(config, key);
  const std::string position = config::string_or(config, "position_embedding_type", key, "absolute");
  if (position != "absolute") {
    fail(key + ".position_embedding_type", "only 'absolute' is supported, got '" + position + "'");
  }
  // Decoder BERTs attend causally and cross-attend; this encoder would silently differ.
  if (config::bool_or(config, "is_decoder", key, false)) fail(key + ".is_decoder", "decoder BERT is not supported");
  if (config::bool_or(config, "add_cross_attention", key, false)) {
    fail(key + ".add_cross_attention", "cross-attention BERT is not supported");
  }
  // The config classes' defaults: BertConfig's, RobertaConfig's pad id 1, ElectraConfig's small sizes.
  const bool electra = model_type == "electra";
  BertOptions d;
  if (roberta_like(model_type)) d.pad_token_id(1);
  if (electra) d.hidden_size(256).num_attention_heads(4).intermediate_size(1024);
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
  apply_model_type(o, model_type, key + ".model_type");
  if (electra) o.embedding_size(config::int_or(config, "embedding_size", key, 1, 128));
  if (roberta_like(model_type) && o.max_position_embeddings() <= o.pad_token_id() + 1) {
    fail(key + ".max_position_embeddings", "must exceed pad_token_id + 1 (RoBERTa's positions start there), got " +
                                               std::to_string(o.max_position_embeddings()));
  }
  check_sizes(o, key, "hidden_size", "num_attention_heads");
  return o;
}

}  // namespace attune::models
