// BERT's "basic" tokenization (text cleaning, CJK spacing, NFC, lower-casing, accent
// stripping, punctuation splitting), matching Hugging Face's BasicTokenizer, with
// ICU supplying the Unicode tables that Python's unicodedata supplies there.
#pragma once
#include <string>
#include <vector>

namespace attune::text {

struct BasicTokenizerOptions {
  bool lowercase = true;
  int strip_accents = -1;  // -1: follow lowercase (as Hugging Face does), 0: no, 1: yes
  bool tokenize_chinese_chars = true;
};

// Words as UTF-32 code point strings.
std::vector<std::u32string> basic_tokenize(const std::string& utf8, const BasicTokenizerOptions& options);

std::u32string utf8_to_u32(const std::string& utf8);  // invalid bytes become U+FFFD
std::string u32_to_utf8(const std::u32string& text);
void append_utf8(std::string& out, char32_t cp);

}  // namespace attune::text
