// GPT-2's byte-level alphabet (every byte as a printable code point) and its
// pre-tokenization regex, shared by the ByteLevel pre-tokenizer, decoder and processor.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attune::text::hf_json {

char32_t byte_to_char(unsigned char b);
std::optional<unsigned char> char_to_byte(char32_t c);

// The matches of 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as code point ranges, hand-written for speed and to avoid a regex engine's differences.
std::vector<std::pair<size_t, size_t>> gpt2_split(const std::u32string& text);

}  // namespace attune::text::hf_json
