#include "data/text/hf_tokenizer.h"

#include "core/error.h"
#include "core/files.h"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace attune::text {
namespace {

const char* const kSpecialTokens[][2] = {
    {"unk_token", "[UNK]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"}, {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"}};

// A special token is a string or an AddedToken object {"content": ...}.
std::string hf_token_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) return value["content"].get<std::string>();
  return value.dump();
}

void check_hf_special_tokens(const nlohmann::json& j, const std::string& path) {
  for (const auto& [key, expected] : kSpecialTokens) {
    if (!j.contains(key) || j[key].is_null()) continue;
    const std::string token = hf_token_text(j[key]);
    if (token != expected) {
      fail(path + ": " + key, "attune's WordPiece uses " + std::string(expected) + ", got '" + token + "'");
    }
  }
}

// tokenizer_config.json, which must be an object whose tokenizer_class, when set, is
// `slow` or its fast twin; `refusal` says why another fails.
nlohmann::json read_tokenizer_config(const std::string& path, const std::string& slow, const std::string& refusal) {
  const nlohmann::json j = io::read_json(path);
  if (!j.is_object()) fail(path, "must be a JSON object");
  const auto it = j.find("tokenizer_class");
  if (it != j.end() && !it->is_null() && *it != slow && *it != slow + "Fast") {
    fail(path + ": tokenizer_class", refusal + ", got " + it->dump());
  }
  return j;
}

}  // namespace

HfBertTokenizer load_hf_bert_tokenizer(const std::string& dir) {
  const fs::path root(dir);
  const std::string vocab = (root / "vocab.txt").string();
  if (!fs::exists(vocab)) {
    fail(dir, "no vocab.txt (attune reads BERT WordPiece tokenizers from vocab.txt + tokenizer_config.json)");
  }
  WordPieceOptions options;
  HfBertTokenizer out;
  const std::string config_path = (root / "tokenizer_config.json").string();
  if (fs::exists(config_path)) {
    const nlohmann::json j = read_tokenizer_config(config_path, "BertTokenizer", "only BertTokenizer (WordPiece) is supported");
    if (!hf_bool(j, "do_basic_tokenize", true, config_path)) {
      fail(config_path + ": do_basic_tokenize", "false is not supported (attune always runs basic tokenization)");
    }
    options.basic.lowercase = hf_bool(j, "do_lower_case", true, config_path);
    options.basic.tokenize_chinese_chars = hf_bool(j, "tokenize_chinese_chars", true, config_path);
    if (j.contains("strip_accents") && !j["strip_accents"].is_null()) {
      options.basic.strip_accents = hf_bool(j, "strip_accents", false, config_path) ? 1 : 0;
    }
    out.model_max_length = hf_model_max_length(j);
    check_hf_special_tokens(j, config_path);
  }
  const std::string map_path = (root / "special_tokens_map.json").string();
  if (fs::exists(map_path)) check_hf_special_tokens(io::read_json(map_path), map_path);
  out.tokenizer = WordPieceTokenizer::from_vocab_file(vocab, options);
  return out;
}

bool hf_bool(const nlohmann::json& j, const char* key, bool fallback, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) fail(path + ": " + key, "must be true or false, got " + j[key].dump());
  return j[key].get<bool>();
}

int64_t hf_model_max_length(const nlohmann::json& tokenizer_config) {
  const auto it = tokenizer_config.find("model_max_length");
  if (it == tokenizer_config.end() || !it->is_number()) return 0;
  const double n = it->get<double>();
  return n >= 1 && n < 1e9 ? static_cast<int64_t>(n) : 0;
}

void save_hf_deberta_spm_tokenizer(const SentencePieceTokenizer& tokenizer, const std::string& dir,
                                   int64_t model_max_length) {
  fs::create_directories(dir);
  io::write_file_atomic((fs::path(dir) / "spm.model").string(), io::read_file(tokenizer.model_path()));
  nlohmann::json config = {{"tokenizer_class", "DebertaV2Tokenizer"}, {"do_lower_case", false},
                           {"split_by_punct", false}, {"vocab_type", "spm"}, {"model_max_length", model_max_length},
                           {"bos_token", "[CLS]"}, {"eos_token", "[SEP]"}};
  for (const auto& [key, token] : kSpecialTokens) config[key] = token;
  io::write_json_atomic((fs::path(dir) / "tokenizer_config.json").string(), config);
}

nlohmann::json wordpiece_tokenizer_json(const WordPieceTokenizer& tokenizer) {
  using nlohmann::json;
  const BasicTokenizerOptions& basic = tokenizer.options().basic;
  json vocab = json::object();
  const auto& tokens = tokenizer.vocab();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!vocab.contains(tokens[i])) vocab[tokens[i]] = static_cast<int64_t>(i);
  }
  json added = json::array();
  std::vector<std::pair<int64_t, std::string>> specials;
  for (const auto& [key, token] : kSpecialTokens) {
    if (vocab.contains(token)) specials.emplace_back(vocab[token].get<int64_t>(), token);
  }
  std::sort(specials.begin(), specials.end());
  for (const auto& [id, token] : specials) {
    added.push_back({{"id", id}, {"content", token}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}});
  }
  const auto special = [](const char* t, int type) { return json{{"SpecialToken", {{"id", t}, {"type_id", type}}}}; };
  const auto sequence = [](const char* t, int type) { return json{{"Sequence", {{"id", t}, {"type_id", type}}}}; };
  json special_tokens = json::object();
  for (const char* t : {"[CLS]", "[SEP]"}) {
    if (vocab.contains(t)) special_tokens[t] = {{"id", t}, {"ids", json::array({vocab[t]})}, {"tokens", json::array({t})}};
  }
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer",
           {{"type", "BertNormalizer"},
            {"clean_text", true},
            {"handle_chinese_chars", basic.tokenize_chinese_chars},
            {"strip_accents", basic.strip_accents < 0 ? json() : json(basic.strip_accents == 1)},
            {"lowercase", basic.lowercase}}},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single", json::array({special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)})},
            {"pair", json::array({special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1),
                                  special("[SEP]", 1)})},
            {"special_tokens", special_tokens}}},
          {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
          {"model",
           {{"type", "WordPiece"},
            {"unk_token", "[UNK]"},
            {"continuing_subword_prefix", "##"},
            {"max_input_chars_per_word", tokenizer.options().max_input_chars_per_word},
            {"vocab", vocab}}}};
}

void save_hf_bert_tokenizer(const WordPieceTokenizer& tokenizer, const std::string& dir, int64_t model_max_length) {
  fs::create_directories(dir);
  std::string text;
  for (const auto& token : tokenizer.vocab()) text += token + "\n";
  io::write_file_atomic((fs::path(dir) / "vocab.txt").string(), text);
  // Also as a tokenizer.json, which every transformers tokenizer class reads (transformers 5
  // gives ModernBERT folders a class that has no vocab.txt reader).
  io::write_file_atomic((fs::path(dir) / "tokenizer.json").string(), wordpiece_tokenizer_json(tokenizer).dump());
  const BasicTokenizerOptions& basic = tokenizer.options().basic;
  nlohmann::json config = {
      {"tokenizer_class", "BertTokenizer"},
      {"do_lower_case", basic.lowercase},
      {"do_basic_tokenize", true},
      {"never_split", nullptr},
      {"strip_accents", basic.strip_accents < 0 ? nlohmann::json() : nlohmann::json(basic.strip_accents == 1)},
      {"tokenize_chinese_chars", basic.tokenize_chinese_chars},
      {"model_max_length", model_max_length},
      {"clean_up_tokenization_spaces", true},
  };
  nlohmann::json specials = nlohmann::json::object();
  for (const auto& [key, token] : kSpecialTokens) {
    config[key] = token;
    specials[key] = token;
  }
  io::write_json_atomic((fs::path(dir) / "tokenizer_config.json").string(), config);
  io::write_json_atomic((fs::path(dir) / "special_tokens_map.json").string(), specials);
}

}  // namespace attune::text
