#include "models/modernbert/model_config.h"

#include "core/config.h"
#include "core/error.h"
#include "core/schema.h"
#include "models/common/vocabulary.h"
#include "models/transformer/activation.h"

namespace attune::models {
namespace {

struct ModernBertSize {
  const char* name;
  int64_t layers, hidden, heads, intermediate;
};

// answerdotai/ModernBERT-base and -large, and a small one for CPU runs and tests.
constexpr ModernBertSize kModernBertPresets[] = {
    {"mini", 4, 256, 4, 384},
    {"base", 22, 768, 12, 1152},
    {"large", 28, 1024, 16, 2624},
};

}  // namespace

std::vector<std::string> modernbert_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kModernBertPresets) names.emplace_back(p.name);
  return names;
}

void ModernBertModelConfig::describe(config::Schema<ModernBertModelConfig>& s) {
  using C = ModernBertModelConfig;
  s.choice("name", &C::name, {"modernbert"}, "the encoder");
  s.optional_string("preset", &C::preset,
                    "named sizes (" + config::join(modernbert_preset_names()) + "); null: give every size");
  s.optional_integer("vocab_size", &C::vocab_size, 1, 1LL << 40,
                     "embedding rows, at least the tokenizer's tokens; null: the tokenizer's");
  s.optional_integer("hidden_size", &C::hidden_size, 1, 1 << 16, "width; null: the preset's");
  s.optional_integer("num_layers", &C::num_layers, 1, 1024, "layers; null: the preset's");
  s.optional_integer("num_heads", &C::num_heads, 1, 1024, "attention heads; null: the preset's");
  s.optional_integer("intermediate_size", &C::intermediate_size, 1, 1 << 20,
                     "GLU width (Wi projects to twice this); null: the preset's");
  s.string("activation", &C::activation, "GLU activation (gelu, gelu_new, silu, ...)");
  s.rate("embedding_dropout", &C::embedding_dropout, "dropout after the embedding norm");
  s.rate("attention_dropout", &C::attention_dropout, "dropout of attention probabilities and output");
  s.rate("mlp_dropout", &C::mlp_dropout, "dropout inside the GLU");
  s.integer("max_length", &C::max_length, 1, 1 << 24, "longest input (max_position_embeddings)");
  s.number("norm_eps", &C::norm_eps, 1e-300, 1.0, "LayerNorm epsilon");
  s.boolean("norm_bias", &C::norm_bias, "LayerNorms with a bias");
  s.boolean("attention_bias", &C::attention_bias, "Wqkv and Wo with a bias");
  s.boolean("mlp_bias", &C::mlp_bias, "Wi and Wo with a bias");
  s.integer("global_every", &C::global_every, 1, 1024, "every n-th layer attends globally, the rest locally");
  s.integer("local_window", &C::local_window, 0, 1 << 24, "local layers see local_window / 2 tokens either side");
  s.number("global_rope_theta", &C::global_rope_theta, 1e-300, 1e300, "rotary base of global layers");
  s.number("local_rope_theta", &C::local_rope_theta, 1e-300, 1e300, "rotary base of local layers");
  s.optional_integer("pad_token_id", &C::pad_token_id, 0, 1LL << 40, "id of the padding token; null: ModernBertConfig's");
  s.choice("pooling", &C::pooling, {"cls", "mean"}, "what the prediction head pools for classification");
  s.string("head_activation", &C::head_activation, "the prediction head's activation");
  s.boolean("head_bias", &C::head_bias, "the prediction head's dense layer has a bias");
  s.boolean("decoder_bias", &C::decoder_bias, "the masked LM's decoder has a bias");
  s.check([](const C& c, const std::string& key) {
    parse_activation(c.activation, config::key_path(key, "activation"));
    parse_activation(c.head_activation, config::key_path(key, "head_activation"));
    if (c.preset.empty() && (!c.hidden_size || !c.num_layers || !c.num_heads || !c.intermediate_size)) {
      fail(config::key_path(key, "preset"),
           "no preset given, so hidden_size, num_layers, num_heads and intermediate_size are all required (presets: " +
               config::join(modernbert_preset_names()) + ")");
    }
  });
}

ModernBertModelConfig parse_modernbert_model_config(const nlohmann::json& model_cfg, const std::string& key) {
  if (!model_cfg.is_object()) fail(key, "must be a JSON object, got " + model_cfg.dump());
  return config::parse<ModernBertModelConfig>(model_cfg, key);
}

ModernBertOptions modernbert_options(const ModernBertModelConfig& c, int64_t tokenizer_vocab, const std::string& key) {
  TORCH_CHECK(tokenizer_vocab > 0, "modernbert: vocab_size must be positive, got ", tokenizer_vocab);
  const int64_t vocab_size = embedding_rows(c.vocab_size, tokenizer_vocab, key);
  ModernBertOptions o;
  if (!c.preset.empty()) {
    const ModernBertSize* found = nullptr;
    for (const auto& p : kModernBertPresets) {
      if (c.preset == p.name) found = &p;
    }
    if (found == nullptr) {
      fail(config::key_path(key, "preset"),
           "unknown preset '" + c.preset + "' (known: " + config::join(modernbert_preset_names()) + ")");
    }
    o.num_hidden_layers(found->layers)
        .hidden_size(found->hidden)
        .num_attention_heads(found->heads)
        .intermediate_size(found->intermediate);
  }
  o.vocab_size(vocab_size);
  if (c.hidden_size) o.hidden_size(*c.hidden_size);
  if (c.num_layers) o.num_hidden_layers(*c.num_layers);
  if (c.num_heads) o.num_attention_heads(*c.num_heads);
  if (c.intermediate_size) o.intermediate_size(*c.intermediate_size);
  o.hidden_activation(c.activation)
      .embedding_dropout(c.embedding_dropout)
      .attention_dropout(c.attention_dropout)
      .mlp_dropout(c.mlp_dropout)
      .max_position_embeddings(c.max_length)
      .norm_eps(c.norm_eps)
      .norm_bias(c.norm_bias)
      .attention_bias(c.attention_bias)
      .mlp_bias(c.mlp_bias)
      .global_attn_every_n_layers(c.global_every)
      .local_attention(c.local_window)
      .global_rope_theta(c.global_rope_theta)
      .local_rope_theta(c.local_rope_theta)
      .classifier_pooling(c.pooling)
      .classifier_activation(c.head_activation)
      .classifier_bias(c.head_bias)
      .decoder_bias(c.decoder_bias);
  // Without a pad id the last token of the vocabulary keeps it valid for any tokenizer; a
  // padding_idx only freezes that row's gradient.
  o.pad_token_id(c.pad_token_id.value_or(std::min(o.pad_token_id(), vocab_size - 1)));
  if (o.pad_token_id() >= vocab_size) {
    fail(config::key_path(key, "pad_token_id"), "pad_token_id " + std::to_string(o.pad_token_id()) +
                                                    " is not below the vocabulary size " + std::to_string(vocab_size));
  }
  if (o.hidden_size() % o.num_attention_heads() != 0) {
    fail(config::key_path(key, "hidden_size"), "hidden_size " + std::to_string(o.hidden_size()) +
                                                   " is not divisible by num_heads " +
                                                   std::to_string(o.num_attention_heads()));
  }
  if ((o.hidden_size() / o.num_attention_heads()) % 2 != 0) {
    fail(config::key_path(key, "hidden_size"), "rotary positions need an even head size (hidden_size / num_heads)");
  }
  return o;
}

ModernBertOptions modernbert_options_from_model_config(const nlohmann::json& model_cfg, int64_t vocab_size,
                                                       const std::string& key) {
  return modernbert_options(parse_modernbert_model_config(model_cfg, key), vocab_size, key);
}

nlohmann::json modernbert_model_config(const ModernBertOptions& o, const std::string& preset) {
  ModernBertModelConfig c;
  c.preset = preset;
  c.hidden_size = o.hidden_size();
  c.num_layers = o.num_hidden_layers();
  c.num_heads = o.num_attention_heads();
  c.intermediate_size = o.intermediate_size();
  c.activation = o.hidden_activation();
  c.embedding_dropout = o.embedding_dropout();
  c.attention_dropout = o.attention_dropout();
  c.mlp_dropout = o.mlp_dropout();
  c.max_length = o.max_position_embeddings();
  c.norm_eps = o.norm_eps();
  c.norm_bias = o.norm_bias();
  c.attention_bias = o.attention_bias();
  c.mlp_bias = o.mlp_bias();
  c.global_every = o.global_attn_every_n_layers();
  c.local_window = o.local_attention();
  c.global_rope_theta = o.global_rope_theta();
  c.local_rope_theta = o.local_rope_theta();
  c.pad_token_id = o.pad_token_id();
  c.vocab_size = o.vocab_size();
  c.pooling = o.classifier_pooling();
  c.head_activation = o.classifier_activation();
  c.head_bias = o.classifier_bias();
  c.decoder_bias = o.decoder_bias();
  return config::to_json(c);
}

}  // namespace attune::models
