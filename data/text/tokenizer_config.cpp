#include "data/text/tokenizer_config.h"

namespace attune::text {

void TokenizerConfig::describe(config::Schema<TokenizerConfig>& s) {
  s.choice("type", &TokenizerConfig::type, {"wordpiece", "sentencepiece"}, "the tokenizer")
      .optional_string("vocab", &TokenizerConfig::vocab, "a BERT vocab.txt to load; null learns a WordPiece vocabulary")
      .optional_string("model", &TokenizerConfig::model, "a SentencePiece .model to load; null learns one")
      .integer("vocab_size", &TokenizerConfig::vocab_size, 100, 1 << 22, "size of a learned vocabulary")
      .choice("model_type", &TokenizerConfig::model_type, {"unigram", "bpe"}, "a learned SentencePiece model's kind")
      .boolean("lowercase", &TokenizerConfig::lowercase, "WordPiece: lowercase the text first")
      .tristate("strip_accents", &TokenizerConfig::strip_accents, "WordPiece: strip accents; null follows lowercase")
      .integer("min_frequency", &TokenizerConfig::min_frequency, 1, 1 << 30,
               "WordPiece: the fewest occurrences of a learned piece")
      .integer("training_lines", &TokenizerConfig::training_lines, 0, int64_t{1} << 40,
               "learn from at most this many training lines, evenly spaced; 0 = all");
}

}  // namespace attune::text
