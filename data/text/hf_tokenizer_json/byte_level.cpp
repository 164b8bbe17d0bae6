#include "data/text/hf_tokenizer_json/byte_level.h"

#include "data/text/hf_tokenizer_json/unicode.h"

#include <array>
#include <unordered_map>

namespace attune::text::hf_json {
namespace {

struct ByteAlphabet {
  std::array<char32_t, 256> to_char{};
  std::unordered_map<char32_t, unsigned char> to_byte;
  ByteAlphabet() {
    // Printable Latin-1 bytes stand for themselves; the rest map to 256, 257, ...
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[static_cast<size_t>(b)]] = static_cast<unsigned char>(b);
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet a;
  return a;
}

}  // namespace

char32_t byte_to_char(unsigned char b) { return alphabet().to_char[b]; }

std::optional<unsigned char> char_to_byte(char32_t c) {
  const auto& m = alphabet().to_byte;
  const auto it = m.find(c);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<size_t, size_t>> gpt2_split(const std::u32string& s) {
  std::vector<std::pair<size_t, size_t>> out;
  const size_t n = s.size();
  const auto other = [](char32_t c) { return !is_whitespace(c) && !is_letter(c) && !is_number(c); };
  const auto run = [&](size_t from, auto pred) {
    while (from < n && pred(s[from])) ++from;
    return from;
  };
  size_t i = 0;
  while (i < n) {
    const char32_t c = s[i];
    // Alternatives in the regex's order; the first that matches here wins.
    if (c == '\'' && i + 1 < n) {
      const char32_t a = s[i + 1];
      const char32_t b = i + 2 < n ? s[i + 2] : 0;
      size_t len = 0;
      if (a == 's' || a == 't' || a == 'm' || a == 'd') len = 2;
      else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) len = 3;
      if (len > 0) {
        out.emplace_back(i, i + len);
        i += len;
        continue;
      }
    }
    const size_t body = (c == ' ' && i + 1 < n) ? i + 1 : i;  // the optional leading space
    size_t end = i;
    if (is_letter(s[body])) end = run(body, is_letter);
    else if (is_number(s[body])) end = run(body, is_number);
    else if (other(s[body])) end = run(body, other);
    if (end > i) {
      out.emplace_back(i, end);
      i = end;
      continue;
    }
    // Whitespace: \s+(?!\S) leaves the last space of a run for the word after it.
    const size_t ws_end = run(i, is_whitespace);
    if (ws_end == n || ws_end - i == 1) {
      end = ws_end;
    } else {
      end = ws_end - 1;
    }
    if (end == i) end = i + 1;  // not reached: every character is in one class
    out.emplace_back(i, end);
    i = end;
  }
  return out;
}

}  // namespace attune::text::hf_json
