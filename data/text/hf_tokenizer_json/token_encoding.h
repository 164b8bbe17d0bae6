// One sequence's tokens on their way through post-processing: ids, token strings, type
// ids, byte offsets into the original text, and which tokens are special.
#pragma once
#include "data/text/hf_tokenizer_json/normalized_text.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attune::text::hf_json {

struct TokenEncoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> type_ids;
  std::vector<std::string> tokens;
  std::vector<Span> offsets;
  std::vector<uint8_t> special;  // 1 for tokens a post-processor added

  size_t size() const { return ids.size(); }
  void push(int64_t id, int64_t type_id, const std::string& token, Span offset, bool is_special) {
    ids.push_back(id);
    type_ids.push_back(type_id);
    tokens.push_back(token);
    offsets.push_back(offset);
    special.push_back(is_special ? 1 : 0);
  }
  void append(const TokenEncoding& o) {
    ids.insert(ids.end(), o.ids.begin(), o.ids.end());
    type_ids.insert(type_ids.end(), o.type_ids.begin(), o.type_ids.end());
    tokens.insert(tokens.end(), o.tokens.begin(), o.tokens.end());
    offsets.insert(offsets.end(), o.offsets.begin(), o.offsets.end());
    special.insert(special.end(), o.special.begin(), o.special.end());
  }
  void truncate(size_t n) {
    ids.resize(n);
    type_ids.resize(n);
    tokens.resize(n);
    offsets.resize(n);
    special.resize(n);
  }
};

}  // namespace attune::text::hf_json
