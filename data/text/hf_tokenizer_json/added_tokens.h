// tokenizers' added vocabulary: tokens (special or not) found in the text before the
// model runs, honouring single_word, lstrip, rstrip and normalized.
#pragma once
#include "data/text/hf_tokenizer_json/json_at.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace attune::text::hf_json {

class Normalizer;

struct AddedToken {
  int64_t id = 0;
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

// A stretch of text: an added token's match (with its id) or text between matches.
struct TextSplit {
  size_t begin = 0, end = 0;  // bytes
  std::optional<int64_t> id;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // normalizer: the tokenizer's, which "normalized" tokens are matched after.
  AddedVocabulary(const JsonAt& list, const Normalizer* normalizer);
  // Splits raw text by the tokens with normalized=false, or normalized text by the others.
  std::vector<TextSplit> split(const std::string& text, bool normalized) const;
  const AddedToken* by_id(int64_t id) const;
  std::optional<int64_t> id_of(const std::string& content) const;
  bool is_special(const std::string& content) const;
  int64_t max_id() const;  // -1 when empty

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;  // per token: content, or content normalized
  std::unordered_map<int64_t, size_t> by_id_;
};

}  // namespace attune::text::hf_json
