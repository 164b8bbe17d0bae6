#include "data/text/factory.h"

#include "core/config.h"
#include "core/error.h"
#include "data/text/sentencepiece.h"
#include "data/text/wordpiece.h"

namespace attune::text {

std::unique_ptr<Tokenizer> make_tokenizer(const nlohmann::json& cfg, const std::vector<std::string>& training_texts,
                                          const std::string& key, const std::string& work_dir) {
  const auto& type_json = config::at_field(cfg, "type", key);
  const std::string type = type_json.is_string() ? type_json.get<std::string>() : type_json.dump();
  const int64_t vocab_size = config::get_int(cfg, "vocab_size", key, 100, 1 << 22);
  if (type == "wordpiece") {
    WordPieceOptions options;
    options.basic.lowercase = config::get_bool(cfg, "lowercase", key);
    const auto& strip = config::at_field(cfg, "strip_accents", key);
    if (!strip.is_null() && !strip.is_boolean()) fail(key + ".strip_accents", "expected true/false or null");
    options.basic.strip_accents = strip.is_null() ? -1 : (strip.get<bool>() ? 1 : 0);
    const std::string vocab = config::get_optional_string(cfg, "vocab", key);
    if (!vocab.empty()) return WordPieceTokenizer::from_vocab_file(vocab, options);
    const int64_t min_frequency = config::get_int(cfg, "min_frequency", key, 1, 1 << 30);
    return train_wordpiece(training_texts, vocab_size, options, min_frequency);
  }
  if (type == "sentencepiece") {
    const std::string model = config::get_optional_string(cfg, "model", key);
    if (!model.empty()) return SentencePieceTokenizer::load(model);
    const auto& model_type = config::at_field(cfg, "model_type", key);
    if (model_type != "unigram" && model_type != "bpe") {
      fail(key + ".model_type", "unknown value " + model_type.dump() + " (known: unigram, bpe)");
    }
    return SentencePieceTokenizer::train(training_texts, vocab_size, model_type.get<std::string>(), work_dir);
  }
  fail(key + ".type", "unknown tokenizer '" + type + "' (known: wordpiece, sentencepiece)");
}

}  // namespace attune::text
