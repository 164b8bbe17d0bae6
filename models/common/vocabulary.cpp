#include "models/common/vocabulary.h"

#include "core/config.h"
#include "core/error.h"

namespace attune::models {

int64_t embedding_rows(const std::optional<int64_t>& section_vocab, int64_t tokenizer_vocab, const std::string& key) {
  if (!section_vocab) return tokenizer_vocab;
  if (*section_vocab < tokenizer_vocab) {
    fail(config::key_path(key, "vocab_size"), "vocab_size " + std::to_string(*section_vocab) +
                                                   " is smaller than the tokenizer's " + std::to_string(tokenizer_vocab) +
                                                   " tokens");
  }
  return *section_vocab;
}

}  // namespace attune::models
