#include "data/text/hf_tokenizer_json/unicode.h"

#include "data/text/hf_tokenizer_json/json_at.h"

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <memory>
#include <stdexcept>

namespace attune::text::hf_json {
namespace {

uint32_t category_mask(char32_t c) { return U_GET_GC_MASK(static_cast<UChar32>(c)); }

const icu::Normalizer2& normalizer(UnicodeForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case UnicodeForm::kNfc: n = icu::Normalizer2::getNFCInstance(status); break;
    case UnicodeForm::kNfd: n = icu::Normalizer2::getNFDInstance(status); break;
    case UnicodeForm::kNfkc: n = icu::Normalizer2::getNFKCInstance(status); break;
    case UnicodeForm::kNfkd: n = icu::Normalizer2::getNFKDInstance(status); break;
  }
  if (U_FAILURE(status) || !n) throw std::runtime_error("ICU normalizer unavailable");
  return *n;
}

icu::UnicodeString to_icu(const std::u32string& s) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()), static_cast<int32_t>(s.size()));
}

std::u32string from_icu(const icu::UnicodeString& s) {
  std::u32string out;
  for (int32_t i = 0; i < s.length();) {
    const UChar32 c = s.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

}  // namespace

bool is_whitespace(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }
bool is_letter(char32_t c) { return (category_mask(c) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (category_mask(c) & U_GC_N_MASK) != 0; }
bool is_alphanumeric(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) || is_number(c); }
bool is_word_char(char32_t c) {
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) ||
         (category_mask(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0 ||
         u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_JOIN_CONTROL);
}
bool is_punctuation(char32_t c) {
  const bool ascii = (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return ascii || (category_mask(c) & U_GC_P_MASK) != 0;
}
bool is_other(char32_t c) { return (category_mask(c) & U_GC_C_MASK) != 0; }
bool is_nonspacing_mark(char32_t c) { return (category_mask(c) & U_GC_MN_MASK) != 0; }
bool is_mark(char32_t c) { return (category_mask(c) & U_GC_M_MASK) != 0; }
bool is_cjk(char32_t c) {
  // tokenizers' list (normalizers/bert.rs), which starts its fifth extension block at 0x2B920.
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::u32string to_lower(char32_t c) {
  if (c < 0x80) return std::u32string(1, (c >= 'A' && c <= 'Z') ? c + 32 : c);
  icu::UnicodeString u(static_cast<UChar32>(c));
  u.toLower(icu::Locale::getRoot());  // one character alone: no final-sigma context, as Rust
  return from_icu(u);
}

std::u32string normalize_form(UnicodeForm form, const std::u32string& text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString out = normalizer(form).normalize(to_icu(text), status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU normalization failed");
  return from_icu(out);
}

bool has_boundary_before(UnicodeForm form, char32_t c) {
  return normalizer(form).hasBoundaryBefore(static_cast<UChar32>(c));
}

std::vector<size_t> grapheme_bounds(const std::u32string& text) {
  std::vector<size_t> bounds;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> it(icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
  if (U_FAILURE(status) || !it) throw std::runtime_error("ICU grapheme iterator unavailable");
  const icu::UnicodeString u = to_icu(text);
  it->setText(u);
  // Break positions are UTF-16 indices; walk them alongside the code points.
  size_t cp = 0;
  int32_t unit = 0;
  for (int32_t b = it->first(); b != icu::BreakIterator::DONE; b = it->next()) {
    while (unit < b && cp < text.size()) unit += text[cp++] > 0xFFFF ? 2 : 1;
    bounds.push_back(cp);
  }
  if (bounds.empty() || bounds.back() != text.size()) bounds.push_back(text.size());
  return bounds;
}

DecodedUtf8 decode_utf8(const std::string& s) {
  DecodedUtf8 out;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  size_t i = 0;
  while (i < s.size()) {
    out.starts.push_back(i);
    const unsigned char b = byte(i);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) ok = false;
      c = (c << 6) | (byte(i + k) & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    if (ok && ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
               (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)) {
      ok = false;
    }
    out.chars.push_back(ok ? c : U'\uFFFD');
    i += ok ? len : 1;
  }
  out.starts.push_back(s.size());
  return out;
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  for (char32_t c : text) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string utf8_lossy(const std::string& s) {
  std::string out;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char b = byte(i);
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    // The Unicode "maximal subpart" rule: the valid prefix of a sequence is one error.
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) len = 2;
    else if (b >= 0xE0 && b <= 0xEF) { len = 3; if (b == 0xE0) lo = 0xA0; if (b == 0xED) hi = 0x9F; }
    else if (b >= 0xF0 && b <= 0xF4) { len = 4; if (b == 0xF0) lo = 0x90; if (b == 0xF4) hi = 0x8F; }
    size_t k = 1;
    if (len > 0) {
      for (; k < len && i + k < s.size(); ++k) {
        const unsigned char c = byte(i + k);
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) break;
      }
    }
    if (len > 0 && k == len) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      i += len > 0 ? k : 1;
    }
  }
  return out;
}

char32_t JsonAt::single_char(const std::string& key) const {
  const JsonAt v = at(key);
  const DecodedUtf8 d = decode_utf8(v.str());
  if (d.chars.size() != 1) fail(v.where(), "expected exactly one character, got " + v.value.dump());
  return d.chars[0];
}

}  // namespace attune::text::hf_json
