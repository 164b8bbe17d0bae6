#include "data/text/hf_tokenizer_json/pattern.h"

#include "data/text/hf_tokenizer_json/unicode.h"

#include <unicode/regex.h>
#include <unicode/unistr.h>

namespace attune::text::hf_json {

struct TextPattern::CompiledRegex {
  std::unique_ptr<icu::RegexPattern> pattern;
};

TextPattern TextPattern::from_json(const JsonAt& j) {
  TextPattern p;
  if (j.has("String")) {
    p.literal_ = decode_utf8(j.at("String").str()).chars;
    return p;
  }
  if (j.has("Regex")) {
    const JsonAt r = j.at("Regex");
    UErrorCode status = U_ZERO_ERROR;
    UParseError parse_error;
    const icu::UnicodeString source = icu::UnicodeString::fromUTF8(r.str());
    auto compiled = std::make_shared<CompiledRegex>();
    compiled->pattern.reset(icu::RegexPattern::compile(source, 0, parse_error, status));
    if (U_FAILURE(status) || !compiled->pattern) {
      fail(r.where(), "not a regex ICU accepts (" + std::string(u_errorName(status)) + ") at offset " +
                          std::to_string(parse_error.offset));
    }
    p.regex_ = compiled;
    return p;
  }
  fail(j.where(), "expected {\"String\": ...} or {\"Regex\": ...}, got " + j.value.dump().substr(0, 80));
}

std::vector<std::pair<size_t, size_t>> TextPattern::find(const std::u32string& text) const {
  std::vector<std::pair<size_t, size_t>> out;
  if (!regex_) {
    if (literal_.empty()) return out;
    for (size_t pos = text.find(literal_); pos != std::u32string::npos; pos = text.find(literal_, pos + literal_.size())) {
      out.emplace_back(pos, pos + literal_.size());
    }
    return out;
  }
  const icu::UnicodeString u =
      icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()), static_cast<int32_t>(text.size()));
  // UTF-16 index -> code point index.
  std::vector<size_t> to_cp(static_cast<size_t>(u.length()) + 1, 0);
  size_t unit = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    to_cp[unit++] = i;
    if (text[i] > 0xFFFF) to_cp[unit++] = i;
  }
  to_cp[unit] = text.size();
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> m(regex_->pattern->matcher(u, status));
  if (U_FAILURE(status)) throw std::runtime_error("ICU regex matcher failed");
  while (m->find(status) && U_SUCCESS(status)) {
    const size_t b = to_cp[static_cast<size_t>(m->start(status))];
    const size_t e = to_cp[static_cast<size_t>(m->end(status))];
    if (b < e) out.emplace_back(b, e);
  }
  return out;
}

std::u32string TextPattern::replace_all(const std::u32string& text, const std::u32string& content) const {
  std::u32string out;
  size_t last = 0;
  for (const auto& [b, e] : find(text)) {
    out.append(text, last, b - last);
    out += content;
    last = e;
  }
  out.append(text, last, std::u32string::npos);
  return out;
}

}  // namespace attune::text::hf_json
