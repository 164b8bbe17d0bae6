#include "data/text/hf_tokenizer_json/precompiled_charsmap.h"

#include "core/error.h"

#include <algorithm>
#include <cstring>

namespace attune::text::hf_json {
namespace {

// darts-clone's unit layout.
bool unit_has_leaf(uint32_t u) { return ((u >> 8) & 1) != 0; }
uint32_t unit_value(uint32_t u) { return u & ((1u << 31) - 1); }
uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

}  // namespace

std::string base64_decode(const std::string& text, const std::string& where) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char ch : text) {
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+') v = 62;
    else if (ch == '/') v = 63;
    else if (ch == '=' || ch == '\n' || ch == '\r') continue;
    else fail(where, "not base64 (character '" + std::string(1, ch) + "')");
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::string base64_encode(const std::string& bytes) {
  static const char* kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const auto byte = [&](size_t k) { return k < bytes.size() ? static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])) : 0u; };
    const uint32_t group = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kDigits[(group >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

PrecompiledCharsmap::PrecompiledCharsmap(const std::string& blob, const std::string& where) {
  if (blob.size() < 4) fail(where, "charsmap of " + std::to_string(blob.size()) + " bytes is too short");
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(blob[i])); };
  const uint32_t trie_size = byte(0) | (byte(1) << 8) | (byte(2) << 16) | (byte(3) << 24);
  if (trie_size % 4 != 0 || trie_size == 0 || 4 + static_cast<size_t>(trie_size) > blob.size()) {
    fail(where, "charsmap trie size " + std::to_string(trie_size) + " does not fit its " +
                    std::to_string(blob.size()) + " bytes");
  }
  units_.resize(trie_size / 4);
  for (size_t i = 0; i < units_.size(); ++i) {
    const size_t p = 4 + 4 * i;
    units_[i] = byte(p) | (byte(p + 1) << 8) | (byte(p + 2) << 16) | (byte(p + 3) << 24);
  }
  normalized_ = blob.substr(4 + trie_size);
}

std::optional<std::string> PrecompiledCharsmap::transform(const std::string& chunk) const {
  size_t node = unit_offset(units_[0]);
  for (unsigned char key : chunk) {
    node ^= key;
    if (node >= units_.size()) return std::nullopt;
    const uint32_t unit = units_[node];
    if (unit_label(unit) != key) return std::nullopt;
    node ^= unit_offset(unit);
    if (node >= units_.size()) return std::nullopt;
    if (unit_has_leaf(unit)) {
      const size_t index = unit_value(units_[node]);
      if (index >= normalized_.size()) return std::nullopt;
      const size_t end = normalized_.find('\0', index);
      return normalized_.substr(index, end == std::string::npos ? std::string::npos : end - index);
    }
  }
  return std::nullopt;
}

}  // namespace attune::text::hf_json
