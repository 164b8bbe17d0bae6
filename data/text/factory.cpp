#include "data/text/factory.h"

#include "data/text/sentencepiece.h"
#include "data/text/wordpiece.h"

namespace attune::text {

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerConfig& config, const std::vector<std::string>& training_texts,
                                          const std::string& work_dir) {
  if (config.type == "wordpiece") {
    WordPieceOptions options;
    options.basic.lowercase = config.lowercase;
    options.basic.strip_accents = config.strip_accents;
    if (!config.vocab.empty()) return WordPieceTokenizer::from_vocab_file(config.vocab, options);
    return train_wordpiece(training_texts, config.vocab_size, options, config.min_frequency);
  }
  if (!config.model.empty()) return SentencePieceTokenizer::load(config.model);
  return SentencePieceTokenizer::train(training_texts, config.vocab_size, config.model_type, work_dir);
}

}  // namespace attune::text
