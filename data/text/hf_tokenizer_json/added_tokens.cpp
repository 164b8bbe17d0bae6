#include "data/text/hf_tokenizer_json/added_tokens.h"

#include "data/text/hf_tokenizer_json/normalizers.h"
#include "data/text/hf_tokenizer_json/unicode.h"

#include <algorithm>

namespace attune::text::hf_json {

AddedVocabulary::AddedVocabulary(const JsonAt& list, const Normalizer* normalizer) {
  for (size_t i = 0; i < list.size_of_array(); ++i) {
    const JsonAt t = list.item(i);
    AddedToken a;
    a.id = t.at("id").integer();
    a.content = t.at("content").str();
    if (a.content.empty()) t.fail_at("content", "empty");
    a.single_word = t.bool_or("single_word", false);
    a.lstrip = t.bool_or("lstrip", false);
    a.rstrip = t.bool_or("rstrip", false);
    a.normalized = t.bool_or("normalized", true);
    a.special = t.bool_or("special", false);
    std::string pattern = a.content;
    if (a.normalized && normalizer) {
      NormalizedText n(a.content, 0);
      normalizer->normalize(n);
      pattern = n.utf8();
    }
    by_id_[a.id] = tokens_.size();
    patterns_.push_back(pattern);
    tokens_.push_back(std::move(a));
  }
}

const AddedToken* AddedVocabulary::by_id(int64_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int64_t> AddedVocabulary::id_of(const std::string& content) const {
  for (const auto& t : tokens_) {
    if (t.content == content) return t.id;
  }
  return std::nullopt;
}

bool AddedVocabulary::is_special(const std::string& content) const {
  for (const auto& t : tokens_) {
    if (t.special && t.content == content) return true;
  }
  return false;
}

int64_t AddedVocabulary::max_id() const {
  int64_t m = -1;
  for (const auto& t : tokens_) m = std::max(m, t.id);
  return m;
}

std::vector<TextSplit> AddedVocabulary::split(const std::string& text, bool normalized) const {
  std::vector<TextSplit> out;
  const DecodedUtf8 d = decode_utf8(text);
  // The code point starting at (or ending just before) a byte position.
  const auto char_at = [&](size_t byte) {
    return static_cast<size_t>(std::upper_bound(d.starts.begin(), d.starts.end(), byte) - d.starts.begin()) - 1;
  };
  size_t start_offset = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    // Leftmost-longest, as the Aho-Corasick automaton tokenizers builds.
    size_t best = tokens_.size();
    for (size_t i = 0; i < tokens_.size(); ++i) {
      if (tokens_[i].normalized != normalized) continue;
      const std::string& p = patterns_[i];
      if (p.empty() || text.compare(pos, p.size(), p) != 0) continue;
      if (best == tokens_.size() || p.size() > patterns_[best].size()) best = i;
    }
    if (best == tokens_.size()) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[best];
    size_t start = pos, stop = pos + patterns_[best].size();
    pos = stop;
    if (token.single_word) {
      const bool word_before = start > 0 && is_word_char(d.chars[char_at(start - 1)]);
      const bool word_after = stop < text.size() && is_word_char(d.chars[char_at(stop)]);
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      size_t k = char_at(start);
      while (k > 0 && is_whitespace(d.chars[k - 1])) --k;
      start = std::max(d.starts[k], start_offset);  // spaces an earlier match took stay there
    }
    if (token.rstrip) {
      size_t k = char_at(stop);
      while (stop < text.size() && k < d.chars.size() && is_whitespace(d.chars[k])) stop = d.starts[++k];
      pos = stop;
    }
    if (start_offset < start) out.push_back({start_offset, start, std::nullopt});
    out.push_back({start, stop, token.id});
    start_offset = stop;
  }
  if (start_offset < text.size() || text.empty()) out.push_back({start_offset, text.size(), std::nullopt});
  return out;
}

}  // namespace attune::text::hf_json
