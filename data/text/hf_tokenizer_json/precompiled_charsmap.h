// sentencepiece's precompiled normalization map (the "Precompiled" normalizer's
// precompiled_charsmap): a darts-clone double-array trie over UTF-8 keys whose values
// index NUL-terminated replacement strings. Read as sentencepiece's normalizer.cc and
// tokenizers' spm_precompiled crate read it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attune::text::hf_json {

class PrecompiledCharsmap {
 public:
  // blob: the decoded bytes; where: names the JSON key in errors.
  PrecompiledCharsmap(const std::string& blob, const std::string& where);
  // The replacement for the shortest key that prefixes `chunk`, as spm_precompiled's transform().
  std::optional<std::string> transform(const std::string& chunk) const;

 private:
  std::vector<uint32_t> units_;
  std::string normalized_;
};

std::string base64_decode(const std::string& text, const std::string& where);
std::string base64_encode(const std::string& bytes);

}  // namespace attune::text::hf_json
