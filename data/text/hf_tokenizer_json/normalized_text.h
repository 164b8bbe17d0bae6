// Text under normalization that remembers, for every code point, which bytes of the
// original input it came from: tokenizers' NormalizedString, with the same alignment
// rules, so that offsets come out as the tokenizers library reports them.
#pragma once
#include "data/text/hf_tokenizer_json/json_at.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace attune::text::hf_json {

struct Span {
  size_t start = 0, end = 0;  // byte offsets into the original input
  bool operator==(const Span& o) const { return start == o.start && end == o.end; }
};

// (code point, change): 0 replaces one old code point, +1 is inserted after the previous
// one, -n replaces one and removes the n that follow (tokenizers' transform()).
using Transformation = std::vector<std::pair<char32_t, int>>;

class NormalizedText {
 public:
  NormalizedText() = default;
  // base: where `original` starts in the whole input.
  NormalizedText(const std::string& original, size_t base);

  const std::u32string& chars() const { return chars_; }
  const std::vector<Span>& alignments() const { return align_; }
  size_t origin() const { return origin_; }  // original offset of the start (tokenizers' original_shift)
  bool empty() const { return chars_.empty(); }
  std::string utf8() const;

  // Applies changes covering the whole text; initial_removed old code points are dropped first.
  void transform(const Transformation& dest, size_t initial_removed);
  void map_chars(const std::function<std::u32string(char32_t)>& to);  // each code point to a string
  void filter(const std::function<bool(char32_t)>& keep);
  void prepend(const std::u32string& s);
  void append(const std::u32string& s);
  void replace_ranges(const std::vector<std::pair<size_t, size_t>>& ranges, const std::u32string& content);
  void strip(bool left, bool right);

  NormalizedText slice(size_t begin, size_t end) const;  // code point range
  std::vector<size_t> byte_starts() const;  // of each code point in utf8(), then its length
  // The original span of bytes [begin, end) of utf8(); starts from byte_starts().
  Span original_span(const std::vector<size_t>& starts, size_t byte_begin, size_t byte_end) const;

 private:
  std::u32string chars_;
  std::vector<Span> align_;
  size_t origin_ = 0;
};

// tokenizers' SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
SplitBehavior split_behavior_from_json(const JsonAt& j);

// Ranges (code point indices) covering the whole text, each flagged as a match or not.
using Matches = std::vector<std::pair<std::pair<size_t, size_t>, bool>>;
Matches matches_of(const std::u32string& text, const std::function<bool(char32_t)>& is_delimiter);
Matches matches_from_ranges(size_t length, const std::vector<std::pair<size_t, size_t>>& found);

// Splits by the matches as the behavior says; empty pieces are dropped.
std::vector<NormalizedText> split(const NormalizedText& text, Matches matches, SplitBehavior behavior, bool invert = false);

}  // namespace attune::text::hf_json
