#include "models/seq2seq/hf_marian.h"

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "models/common/hf_folder.h"
#include "models/transformer/activation.h"

#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace attune::models {
namespace {

// BART-family switches that MarianConfig may carry: values that change the layout.
void refuse_layout(const nlohmann::json& c, const std::string& path) {
  const struct {
    const char* key;
    bool refused;
    const char* why;
  } switches[] = {
      {"normalize_before", true, "pre-LN layers are not what MarianMTModel computes (post-LN); not supported"},
      {"normalize_embedding", true, "a LayerNorm after the embeddings is not supported"},
      {"add_final_layer_norm", true, "a final LayerNorm after post-LN stacks is not supported"},
      {"static_position_embeddings", false, "learned positions are not supported (Marian's are sinusoidal)"},
  };
  for (const auto& s : switches) {
    if (config::bool_or(c, s.key, path, !s.refused) == s.refused) fail(config::key_path(path, s.key), s.why);
  }
}

int64_t same_for_both_stacks(const nlohmann::json& c, const std::string& encoder_key, const std::string& decoder_key,
                             const std::string& path, int64_t fallback) {
  const int64_t encoder = config::int_or(c, encoder_key, path, 1, fallback);
  const int64_t decoder = config::int_or(c, decoder_key, path, 1, fallback);
  if (encoder != decoder) {
    fail(config::key_path(path, decoder_key), std::to_string(decoder) + " differs from " + encoder_key + " " +
                                                  std::to_string(encoder) + "; attune's stacks share one value");
  }
  return encoder;
}

// attune name -> the names transformers may have saved it under, first found wins:
// tied and shared embeddings are one tensor, which save_pretrained writes once.
std::vector<std::string> file_names(const std::string& name, const Seq2SeqOptions& o) {
  if (name == "model.shared.weight") {
    return {name, "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"};
  }
  if (name == "model.encoder.embed_tokens.weight") return {name, "model.shared.weight"};
  if (name == "model.decoder.embed_tokens.weight") {
    if (o.tie_output()) return {name, "lm_head.weight", "model.shared.weight"};
    return {name, "model.shared.weight"};
  }
  return {name};
}

}  // namespace

Seq2SeqOptions marian_options(const nlohmann::json& c, const std::string& path) {
  if (!c.is_object()) fail(path, "expected a JSON object");
  const std::string type = config::string_or(c, "model_type", path, "");
  if (type != "marian") fail(config::key_path(path, "model_type"), "expected \"marian\", got \"" + type + "\"");
  refuse_layout(c, path);
  // MarianConfig's defaults where a key is absent.
  const int64_t vocab = config::int_or(c, "vocab_size", path, 1, 58101);
  const int64_t decoder_vocab = config::int_or(c, "decoder_vocab_size", path, 1, vocab);
  if (decoder_vocab != vocab) {
    fail(config::key_path(path, "decoder_vocab_size"),
         std::to_string(decoder_vocab) + " differs from vocab_size " + std::to_string(vocab) +
             "; attune's model has one vocabulary size for both sides");
  }
  const std::string activation = config::string_or(c, "activation_function", path, "gelu");
  parse_activation(activation, config::key_path(path, "activation_function"));
  const int64_t pad = config::int_or(c, "pad_token_id", path, 0, 58100);
  const int64_t start = config::int_or(c, "decoder_start_token_id", path, 0, pad);
  if (start != pad) {
    fail(config::key_path(path, "decoder_start_token_id"),
         std::to_string(start) + " is not pad_token_id " + std::to_string(pad) + "; attune's Marian starts with <pad>");
  }
  if (pad >= vocab) fail(config::key_path(path, "pad_token_id"), "is not below vocab_size " + std::to_string(vocab));
  const bool share = config::bool_or(c, "share_encoder_decoder_embeddings", path, true);
  Seq2SeqOptions o(vocab);
  o.d_model(config::int_or(c, "d_model", path, 1, 1024))
      .encoder_layers(config::int_or(c, "encoder_layers", path, 1, 12))
      .decoder_layers(config::int_or(c, "decoder_layers", path, 1, 12))
      .num_heads(same_for_both_stacks(c, "encoder_attention_heads", "decoder_attention_heads", path, 16))
      .ffn_dim(same_for_both_stacks(c, "encoder_ffn_dim", "decoder_ffn_dim", path, 4096))
      .activation(activation)
      .dropout(config::rate_or(c, "dropout", path, 0.1))
      .attention_dropout(config::rate_or(c, "attention_dropout", path, 0.0))
      .activation_dropout(config::rate_or(c, "activation_dropout", path, 0.0))
      .pre_layer_norm(false)
      .positions("sinusoidal")
      .max_positions(config::int_or(c, "max_position_embeddings", path, 2, 1024))
      .share_embeddings(share)
      .tie_output(config::bool_or(c, "tie_word_embeddings", path, true))
      .scale_embedding(config::bool_or(c, "scale_embedding", path, false))
      .init("normal")
      .init_std(config::positive_or(c, "init_std", path, 0.02))
      .pad_id(pad)
      .layer_norm_eps(1e-5);
  if (o.d_model() % o.num_heads() != 0) {
    fail(config::key_path(path, "encoder_attention_heads"), "does not divide d_model " + std::to_string(o.d_model()));
  }
  return o;
}

MarianCheckpoint read_hf_marian(const std::string& dir) {
  const HfFolderFiles files = hf_folder_files(dir, "MarianMTModel");
  const std::string& config_path = files.config;
  const std::string& weights = files.weights;
  const nlohmann::json config = io::read_json(config_path);
  MarianCheckpoint ck;
  ck.options = marian_options(config, config_path);
  ck.eos_id = config::int_or(config, "eos_token_id", config_path, 0, 0);
  if (ck.eos_id >= ck.options.vocab_size() || ck.eos_id == ck.options.pad_id()) {
    fail(config::key_path(config_path, "eos_token_id"), "must be below vocab_size and differ from pad_token_id");
  }
  ck.file = weights;
  const formats::SafetensorsFile file = formats::load_safetensors(weights);
  // The model this checkpoint builds names every tensor attune needs, with its shape.
  Seq2SeqTransformer reference(ck.options);
  std::set<std::string> used;
  for (const auto& [name, tensor] : formats::module_tensors(*reference)) {
    std::string found;
    for (const std::string& candidate : file_names(name, ck.options)) {
      if (file.tensors.count(candidate)) {
        found = candidate;
        break;
      }
    }
    torch::Tensor t;
    if (!found.empty()) {
      t = file.tensors.at(found);
      if (!t.is_floating_point()) fail(weights, "tensor '" + found + "' is not floating point");
      if (t.sizes() != tensor.sizes()) {
        fail(weights, "tensor '" + found + "' has shape " + c10::str(t.sizes()) + ", config.json gives " +
                          c10::str(tensor.sizes()));
      }
      used.insert(found);
    } else if (name.find("embed_positions") != std::string::npos) {
      t = tensor;  // a non-persistent buffer in recent transformers: the same sinusoids
    } else if (name == "final_logits_bias") {
      t = tensor;
      ck.notes.push_back(weights + ": no final_logits_bias; it starts at zero");
    } else {
      fail(weights, "no tensor '" + name + "' (config.json: share_encoder_decoder_embeddings " +
                        (ck.options.share_embeddings() ? "true" : "false") + ", tie_word_embeddings " +
                        (ck.options.tie_output() ? "true" : "false") + ")");
    }
    ck.tensors.names.push_back(name);
    ck.tensors.tensors[name] = t.to(torch::kFloat).contiguous();
  }
  for (const std::string& name : file.names) {
    if (used.count(name)) continue;
    // Copies of a tied or shared embedding that save_pretrained kept: checked, not loaded twice.
    const bool embedding_copy = name == "lm_head.weight" || name.find("embed_tokens.weight") != std::string::npos ||
                                name == "model.shared.weight";
    if (!embedding_copy) fail(weights, "unexpected tensor '" + name + "' (not part of this MarianMTModel)");
  }
  return ck;
}

void write_hf_marian(const std::string& dir, Seq2SeqTransformerImpl& model, int64_t eos_id) {
  const Seq2SeqOptions& o = model.options();
  if (o.pre_layer_norm()) fail("model.pre_layer_norm", "transformers' MarianMTModel is post-LN; a pre-LN run cannot be exported");
  if (o.positions() != "sinusoidal") fail("model.positions", "transformers' MarianMTModel has sinusoidal positions only");
  if (o.layer_norm_eps() != 1e-5) fail("model.layer_norm_eps", "transformers' MarianMTModel uses 1e-5");
  const nlohmann::json config = {
      {"architectures", {"MarianMTModel"}},
      {"model_type", "marian"},
      {"vocab_size", o.vocab_size()},
      {"decoder_vocab_size", o.vocab_size()},
      {"d_model", o.d_model()},
      {"encoder_layers", o.encoder_layers()},
      {"decoder_layers", o.decoder_layers()},
      {"encoder_attention_heads", o.num_heads()},
      {"decoder_attention_heads", o.num_heads()},
      {"encoder_ffn_dim", o.ffn_dim()},
      {"decoder_ffn_dim", o.ffn_dim()},
      {"activation_function", o.activation()},
      {"dropout", o.dropout()},
      {"attention_dropout", o.attention_dropout()},
      {"activation_dropout", o.activation_dropout()},
      {"max_position_embeddings", o.max_positions()},
      {"scale_embedding", o.scale_embedding()},
      {"share_encoder_decoder_embeddings", o.share_embeddings()},
      {"tie_word_embeddings", o.tie_output()},
      {"init_std", o.init_std()},
      {"pad_token_id", o.pad_id()},
      {"decoder_start_token_id", o.pad_id()},
      {"eos_token_id", eos_id},
      {"forced_eos_token_id", eos_id},
      {"is_encoder_decoder", true},
      {"static_position_embeddings", true},
  };
  const nlohmann::json generation = {{"decoder_start_token_id", o.pad_id()}, {"pad_token_id", o.pad_id()},
                                     {"eos_token_id", eos_id},           {"forced_eos_token_id", eos_id},
                                     {"bad_words_ids", nlohmann::json::array({nlohmann::json::array({o.pad_id()})})},  {"max_length", o.max_positions()},
                                     {"num_beams", 4}};
  fs::create_directories(dir);
  io::write_json_atomic((fs::path(dir) / "config.json").string(), config);
  io::write_json_atomic((fs::path(dir) / "generation_config.json").string(), generation);
  formats::NamedTensors tensors;
  for (auto& [name, t] : formats::module_tensors(model)) {
    tensors.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat).contiguous());
  }
  formats::save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
}

}  // namespace attune::models
