#include "data/text/factory.h"

#include "data/error.h"
#include "data/text/sentencepiece.h"
#include "data/text/wordpiece.h"

namespace attune::text {
namespace {

const nlohmann::json& field(const nlohmann::json& cfg, const std::string& name, const std::string& key) {
  if (!cfg.contains(name)) fail(key + "." + name, "missing config key");
  return cfg.at(name);
}

int64_t int_field(const nlohmann::json& cfg, const std::string& name, const std::string& key, int64_t min, int64_t max) {
  const auto& v = field(cfg, name, key);
  if (!v.is_number_integer()) fail(key + "." + name, "expected an integer");
  const int64_t x = v.get<int64_t>();
  if (x < min || x > max) {
    fail(key + "." + name, "value " + std::to_string(x) + " out of range [" + std::to_string(min) + ", " +
                               std::to_string(max) + "]");
  }
  return x;
}

std::string optional_path(const nlohmann::json& cfg, const std::string& name, const std::string& key) {
  const auto& v = field(cfg, name, key);
  if (v.is_null()) return "";
  if (!v.is_string()) fail(key + "." + name, "expected a path");
  return v.get<std::string>();
}

}  // namespace

std::unique_ptr<Tokenizer> make_tokenizer(const nlohmann::json& cfg, const std::vector<std::string>& training_texts,
                                          const std::string& key, const std::string& work_dir) {
  const auto& type_json = field(cfg, "type", key);
  const std::string type = type_json.is_string() ? type_json.get<std::string>() : type_json.dump();
  const int64_t vocab_size = int_field(cfg, "vocab_size", key, 100, 1 << 22);
  if (type == "wordpiece") {
    WordPieceOptions options;
    const auto& lowercase = field(cfg, "lowercase", key);
    if (!lowercase.is_boolean()) fail(key + ".lowercase", "expected true/false");
    options.basic.lowercase = lowercase.get<bool>();
    const auto& strip = field(cfg, "strip_accents", key);
    if (!strip.is_null() && !strip.is_boolean()) fail(key + ".strip_accents", "expected true/false or null");
    options.basic.strip_accents = strip.is_null() ? -1 : (strip.get<bool>() ? 1 : 0);
    const std::string vocab = optional_path(cfg, "vocab", key);
    if (!vocab.empty()) return WordPieceTokenizer::from_vocab_file(vocab, options);
    const int64_t min_frequency = int_field(cfg, "min_frequency", key, 1, 1 << 30);
    return train_wordpiece(training_texts, vocab_size, options, min_frequency);
  }
  if (type == "sentencepiece") {
    const std::string model = optional_path(cfg, "model", key);
    if (!model.empty()) return SentencePieceTokenizer::load(model);
    const auto& model_type = field(cfg, "model_type", key);
    if (model_type != "unigram" && model_type != "bpe") {
      fail(key + ".model_type", "unknown value " + model_type.dump() + " (known: unigram, bpe)");
    }
    return SentencePieceTokenizer::train(training_texts, vocab_size, model_type.get<std::string>(), work_dir);
  }
  fail(key + ".type", "unknown tokenizer '" + type + "' (known: wordpiece, sentencepiece)");
}

}  // namespace attune::text
