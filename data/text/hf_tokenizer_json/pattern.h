// The {"String": ...} / {"Regex": ...} patterns of Split, Replace and the Replace decoder.
// Regexes run on ICU's engine; tokenizers uses Oniguruma, whose syntax agrees for the
// patterns tokenizers ship (\p{L}, \s, lookahead, (?i:...)).
#pragma once
#include "data/text/hf_tokenizer_json/json_at.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace attune::text::hf_json {

class TextPattern {
 public:
  static TextPattern from_json(const JsonAt& j);
  // Non-overlapping matches, leftmost first, as code point ranges; empty matches dropped.
  std::vector<std::pair<size_t, size_t>> find(const std::u32string& text) const;
  std::u32string replace_all(const std::u32string& text, const std::u32string& content) const;

 private:
  std::u32string literal_;
  struct CompiledRegex;  // ICU's, kept out of this header
  std::shared_ptr<const CompiledRegex> regex_;
};

}  // namespace attune::text::hf_json
