// The character classes and normalization forms that tokenizers' components are defined
// with (Rust's char methods, the regex crate's \w and \s, unicode-normalization), from ICU.
#pragma once
#include <string>
#include <vector>

namespace attune::text::hf_json {

bool is_whitespace(char32_t c);   // the White_Space property (Rust char::is_whitespace, regex \s)
bool is_letter(char32_t c);       // \p{L}
bool is_number(char32_t c);       // \p{N} (Rust char::is_numeric)
bool is_alphanumeric(char32_t c); // Rust char::is_alphanumeric
bool is_word_char(char32_t c);    // regex \w
bool is_punctuation(char32_t c);  // ASCII punctuation or \p{P}, as tokenizers' is_bert_punc
bool is_other(char32_t c);        // \p{C}
bool is_nonspacing_mark(char32_t c);  // \p{Mn}
bool is_mark(char32_t c);             // \p{M}
bool is_cjk(char32_t c);          // the CJK blocks BertNormalizer pads with spaces

std::u32string to_lower(char32_t c);  // full, context-free mapping (Rust char::to_lowercase)

enum class UnicodeForm { kNfc, kNfd, kNfkc, kNfkd };
std::u32string normalize_form(UnicodeForm form, const std::u32string& text);
// A character that starts a run whose normalization does not depend on what precedes it.
bool has_boundary_before(UnicodeForm form, char32_t c);

// Start index of every extended grapheme cluster, plus text.size() at the end.
std::vector<size_t> grapheme_bounds(const std::u32string& text);

// UTF-8 decoding that keeps each code point's byte range; an invalid byte becomes U+FFFD.
struct DecodedUtf8 {
  std::u32string chars;
  std::vector<size_t> starts;  // byte offset of each code point, then the total length
};
DecodedUtf8 decode_utf8(const std::string& utf8);
std::string encode_utf8(const std::u32string& text);
// As Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
std::string utf8_lossy(const std::string& bytes);

}  // namespace attune::text::hf_json
