// The "tokenizer" section of a run config, typed (core/schema.h): which tokenizer to load,
// or how to learn one from the training texts.
#pragma once
#include "core/schema.h"

#include <cstdint>
#include <string>

namespace attune::text {

struct TokenizerConfig {
  std::string type = "wordpiece";
  std::string vocab;  // a BERT vocab.txt to load (wordpiece); "" learns one
  std::string model;  // a SentencePiece .model to load; "" learns one
  int64_t vocab_size = 8000;
  std::string model_type = "unigram";  // of a learned SentencePiece model
  bool lowercase = true;
  int strip_accents = -1;  // -1 follows lowercase, as BERT does
  int64_t min_frequency = 2;
  int64_t training_lines = 0;  // learn from at most this many lines, evenly spaced; 0 = all
  static void describe(config::Schema<TokenizerConfig>& s);
};

// The keys a WordPiece-only task shows (text classification): all but training_lines.
inline const std::vector<std::string>& wordpiece_task_keys() {
  static const std::vector<std::string> keys = {"type",      "vocab",         "model",        "vocab_size",
                                                "model_type", "lowercase", "strip_accents", "min_frequency"};
  return keys;
}

}  // namespace attune::text
