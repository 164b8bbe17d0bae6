#include "data/text/hf_tokenizer_json/normalized_text.h"

#include "data/text/hf_tokenizer_json/unicode.h"

#include <algorithm>

namespace attune::text::hf_json {

NormalizedText::NormalizedText(const std::string& original, size_t base) : origin_(base) {
  const DecodedUtf8 d = decode_utf8(original);
  chars_ = d.chars;
  align_.reserve(chars_.size());
  for (size_t i = 0; i < chars_.size(); ++i) align_.push_back({base + d.starts[i], base + d.starts[i + 1]});
}

std::string NormalizedText::utf8() const { return encode_utf8(chars_); }

void NormalizedText::transform(const Transformation& dest, size_t initial_removed) {
  std::u32string chars;
  std::vector<Span> align;
  chars.reserve(dest.size());
  align.reserve(dest.size());
  size_t idx = initial_removed;  // the next old code point
  for (const auto& [c, change] : dest) {
    Span a;
    if (change > 0) {
      // An inserted character shares the alignment of the one before it.
      a = idx == 0 ? Span{origin_, origin_} : align_[std::min(idx, align_.size()) - 1];
    } else {
      a = idx < align_.size() ? align_[idx] : (align_.empty() ? Span{origin_, origin_} : align_.back());
      idx += 1 + static_cast<size_t>(-change);
    }
    chars.push_back(c);
    align.push_back(a);
  }
  chars_ = std::move(chars);
  align_ = std::move(align);
}

void NormalizedText::map_chars(const std::function<std::u32string(char32_t)>& to) {
  Transformation t;
  t.reserve(chars_.size());
  for (char32_t c : chars_) {
    const std::u32string out = to(c);
    if (out.empty()) {
      // Removing is filter()'s job; keep the character rather than lose its place.
      t.emplace_back(c, 0);
      continue;
    }
    for (size_t i = 0; i < out.size(); ++i) t.emplace_back(out[i], i == 0 ? 0 : 1);
  }
  transform(t, 0);
}

void NormalizedText::filter(const std::function<bool(char32_t)>& keep) {
  // tokenizers attributes removed characters to the kept one before them.
  Transformation t;
  int removed = 0;
  size_t removed_start = 0;
  bool have_last = false;
  char32_t last = 0;
  for (char32_t c : chars_) {
    if (keep(c)) {
      if (have_last) {
        t.emplace_back(last, -removed);
      } else {
        removed_start = static_cast<size_t>(removed);
      }
      last = c;
      have_last = true;
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (have_last) t.emplace_back(last, -removed);
  if (!have_last) removed_start = chars_.size();
  transform(t, removed_start);
}

void NormalizedText::prepend(const std::u32string& s) {
  if (chars_.empty() || s.empty()) return;
  // The first new character takes the old first character's place; that one becomes "inserted".
  Transformation t;
  for (size_t i = 0; i < s.size(); ++i) t.emplace_back(s[i], i == 0 ? 0 : 1);
  t.emplace_back(chars_[0], 1);
  for (size_t i = 1; i < chars_.size(); ++i) t.emplace_back(chars_[i], 0);
  transform(t, 0);
}

void NormalizedText::append(const std::u32string& s) {
  if (chars_.empty()) return;
  Transformation t;
  for (char32_t c : chars_) t.emplace_back(c, 0);
  for (char32_t c : s) t.emplace_back(c, 1);
  transform(t, 0);
}

void NormalizedText::replace_ranges(const std::vector<std::pair<size_t, size_t>>& ranges, const std::u32string& content) {
  // Each match becomes `content`, every character of it aligned with the match's last one.
  std::u32string chars;
  std::vector<Span> align;
  size_t last = 0;
  for (const auto& [b, e] : ranges) {
    chars.append(chars_, last, b - last);
    align.insert(align.end(), align_.begin() + static_cast<long>(last), align_.begin() + static_cast<long>(b));
    const Span a = e > 0 ? align_[e - 1] : Span{origin_, origin_};
    for (char32_t c : content) {
      chars.push_back(c);
      align.push_back(a);
    }
    last = e;
  }
  chars.append(chars_, last, std::u32string::npos);
  align.insert(align.end(), align_.begin() + static_cast<long>(last), align_.end());
  chars_ = std::move(chars);
  align_ = std::move(align);
}

void NormalizedText::strip(bool left, bool right) {
  size_t b = 0, e = chars_.size();
  if (left) while (b < e && is_whitespace(chars_[b])) ++b;
  if (right) while (e > b && is_whitespace(chars_[e - 1])) --e;
  chars_ = chars_.substr(b, e - b);
  align_ = std::vector<Span>(align_.begin() + static_cast<long>(b), align_.begin() + static_cast<long>(e));
}

NormalizedText NormalizedText::slice(size_t begin, size_t end) const {
  NormalizedText out;
  out.chars_ = chars_.substr(begin, end - begin);
  out.align_.assign(align_.begin() + static_cast<long>(begin), align_.begin() + static_cast<long>(end));
  out.origin_ = begin < end ? align_[begin].start : origin_;
  return out;
}

std::vector<size_t> NormalizedText::byte_starts() const {
  std::vector<size_t> starts;
  starts.reserve(chars_.size() + 1);
  size_t pos = 0;
  for (char32_t c : chars_) {
    starts.push_back(pos);
    pos += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  starts.push_back(pos);
  return starts;
}

Span NormalizedText::original_span(const std::vector<size_t>& starts, size_t byte_begin, size_t byte_end) const {
  if (byte_begin >= byte_end || chars_.empty()) return {origin_, origin_};
  // The code points holding the first and the last byte.
  const auto holding = [&](size_t byte) {
    const auto it = std::upper_bound(starts.begin(), starts.end(), byte);
    return std::min(static_cast<size_t>(it - starts.begin()) - 1, chars_.size() - 1);
  };
  return {align_[holding(byte_begin)].start, align_[holding(byte_end - 1)].end};
}

SplitBehavior split_behavior_from_json(const JsonAt& j) {
  const std::string b = j.str();
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  fail(j.where(), "unsupported split behavior '" + b + "'");
}

Matches matches_of(const std::u32string& text, const std::function<bool(char32_t)>& is_delimiter) {
  // Every delimiter is a match of its own; the runs between are merged.
  Matches m;
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_delimiter(text[i])) continue;
    if (run < i) m.push_back({{run, i}, false});
    m.push_back({{i, i + 1}, true});
    run = i + 1;
  }
  if (run < text.size()) m.push_back({{run, text.size()}, false});
  return m;
}

Matches matches_from_ranges(size_t length, const std::vector<std::pair<size_t, size_t>>& found) {
  Matches m;
  size_t prev = 0;
  for (const auto& r : found) {
    if (prev != r.first) m.push_back({{prev, r.first}, false});
    m.push_back({r, true});
    prev = r.second;
  }
  if (prev < length) m.push_back({{prev, length}, false});
  return m;
}

std::vector<NormalizedText> split(const NormalizedText& text, Matches matches, SplitBehavior behavior, bool invert) {
  if (invert) {
    for (auto& m : matches) m.second = !m.second;
  }
  // (range, remove)
  std::vector<std::pair<std::pair<size_t, size_t>, bool>> pieces;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& m : matches) pieces.push_back({m.first, false});
      break;
    case SplitBehavior::kRemoved:
      pieces = matches;
      break;
    case SplitBehavior::kContiguous:
      for (const auto& [r, is_match] : matches) {
        if (is_match == previous_match && !pieces.empty()) {
          pieces.back().first.second = r.second;
        } else {
          pieces.push_back({r, false});
        }
        previous_match = is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& [r, is_match] : matches) {
        if (is_match && !previous_match && !pieces.empty()) {
          pieces.back().first.second = r.second;
        } else {
          pieces.push_back({r, false});
        }
        previous_match = is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        const auto& [r, is_match] = *it;
        if (is_match && !previous_match && !pieces.empty()) {
          pieces.back().first.first = r.first;
        } else {
          pieces.push_back({r, false});
        }
        previous_match = is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
  }
  std::vector<NormalizedText> out;
  for (const auto& [r, remove] : pieces) {
    if (remove || r.first >= r.second) continue;
    out.push_back(text.slice(r.first, r.second));
  }
  return out;
}

}  // namespace attune::text::hf_json
