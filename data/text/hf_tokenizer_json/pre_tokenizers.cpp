#include "data/text/hf_tokenizer_json/pre_tokenizers.h"

#include "data/text/hf_tokenizer_json/byte_level.h"
#include "data/text/hf_tokenizer_json/pattern.h"
#include "data/text/hf_tokenizer_json/unicode.h"

namespace attune::text::hf_json {
namespace {

// Applies f to every piece, concatenating what it returns.
template <typename F>
void split_each(std::vector<NormalizedText>& pieces, F f) {
  std::vector<NormalizedText> out;
  for (auto& piece : pieces) {
    for (auto& part : f(piece)) out.push_back(std::move(part));
  }
  pieces = std::move(out);
}

class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_each(pieces, [](NormalizedText& p) {
      return split(p, matches_of(p.chars(), is_whitespace), SplitBehavior::kRemoved);
    });
    split_each(pieces, [](NormalizedText& p) {
      return split(p, matches_of(p.chars(), is_punctuation), SplitBehavior::kIsolated);
    });
  }
};

class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_each(pieces, [](NormalizedText& p) {
      return split(p, matches_of(p.chars(), is_whitespace), SplitBehavior::kRemoved);
    });
  }
};

// \w+|[^\w\s]+, keeping the matches.
class WhitespacePreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_each(pieces, [](NormalizedText& p) {
      const std::u32string& s = p.chars();
      std::vector<std::pair<size_t, size_t>> found;
      size_t i = 0;
      while (i < s.size()) {
        size_t e = i;
        if (is_word_char(s[i])) {
          while (e < s.size() && is_word_char(s[e])) ++e;
        } else if (!is_whitespace(s[i])) {
          while (e < s.size() && !is_word_char(s[e]) && !is_whitespace(s[e])) ++e;
        }
        if (e > i) {
          found.emplace_back(i, e);
          i = e;
        } else {
          ++i;
        }
      }
      return split(p, matches_from_ranges(s.size(), found), SplitBehavior::kRemoved, true);
    });
  }
};

class PunctuationPreTokenizer : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(const JsonAt& j)
      : behavior_(j.has("behavior") ? split_behavior_from_json(j.at("behavior")) : SplitBehavior::kIsolated) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_each(pieces, [&](NormalizedText& p) { return split(p, matches_of(p.chars(), is_punctuation), behavior_); });
  }

 private:
  SplitBehavior behavior_;
};

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(const JsonAt& j) : individual_(j.bool_or("individual_digits", false)) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    const SplitBehavior b = individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous;
    split_each(pieces, [&](NormalizedText& p) { return split(p, matches_of(p.chars(), is_number), b); });
  }

 private:
  bool individual_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  explicit SplitPreTokenizer(const JsonAt& j)
      : pattern_(TextPattern::from_json(j.at("pattern"))),
        behavior_(split_behavior_from_json(j.at("behavior"))),
        invert_(j.bool_or("invert", false)) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_each(pieces, [&](NormalizedText& p) {
      return split(p, matches_from_ranges(p.chars().size(), pattern_.find(p.chars())), behavior_, invert_);
    });
  }

 private:
  TextPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  explicit ByteLevelPreTokenizer(const JsonAt& j)
      : add_prefix_space_(j.bool_or("add_prefix_space", true)), use_regex_(j.bool_or("use_regex", true)) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_each(pieces, [&](NormalizedText& p) {
      if (add_prefix_space_ && (p.empty() || p.chars()[0] != ' ')) p.prepend(U" ");
      if (!use_regex_) return std::vector<NormalizedText>{p};
      return split(p, matches_from_ranges(p.chars().size(), gpt2_split(p.chars())), SplitBehavior::kIsolated);
    });
    for (auto& p : pieces) {
      // Each UTF-8 byte becomes one alphabet character aligned with the code point it is part of.
      Transformation t;
      for (char32_t c : p.chars()) {
        const std::string bytes = encode_utf8(std::u32string(1, c));
        for (size_t i = 0; i < bytes.size(); ++i) t.emplace_back(byte_to_char(static_cast<unsigned char>(bytes[i])), i > 0 ? 1 : 0);
      }
      p.transform(t, 0);
    }
  }

 private:
  bool add_prefix_space_, use_regex_;
};

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  explicit MetaspacePreTokenizer(const JsonAt& j)
      : replacement_(j.single_char("replacement")), scheme_(prepend_scheme_from_json(j)), split_(j.bool_or("split", true)) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_each(pieces, [&](NormalizedText& p) {
      std::vector<std::pair<size_t, size_t>> spaces;
      for (size_t i = 0; i < p.chars().size(); ++i) {
        if (p.chars()[i] == ' ') spaces.emplace_back(i, i + 1);
      }
      p.replace_ranges(spaces, std::u32string(1, replacement_));
      const bool starts_with_replacement = !p.empty() && p.chars()[0] == replacement_;
      if (!starts_with_replacement &&
          (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.origin() == 0))) {
        p.prepend(std::u32string(1, replacement_));
      }
      if (!split_) return std::vector<NormalizedText>{p};
      const char32_t r = replacement_;
      return split(p, matches_of(p.chars(), [r](char32_t c) { return c == r; }), SplitBehavior::kMergedWithNext);
    });
  }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(const JsonAt& j) {
    const JsonAt list = j.at("pretokenizers");
    for (size_t i = 0; i < list.size_of_array(); ++i) parts_.push_back(make_pre_tokenizer(list.item(i)));
  }
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

PrependScheme prepend_scheme_from_json(const JsonAt& j) {
  if (j.has("prepend_scheme")) {
    const JsonAt s = j.at("prepend_scheme");
    const std::string v = s.str();
    if (v == "first") return PrependScheme::kFirst;
    if (v == "always") return PrependScheme::kAlways;
    if (v == "never") return PrependScheme::kNever;
    fail(s.where(), "unsupported '" + v + "' (known: first, always, never)");
  }
  // Files from before prepend_scheme say add_prefix_space.
  return j.bool_or("add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonAt& j) {
  const std::string type = j.type();
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelPreTokenizer>(j);
  if (type == "Metaspace") return std::make_unique<MetaspacePreTokenizer>(j);
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPreTokenizer>();
  if (type == "Punctuation") return std::make_unique<PunctuationPreTokenizer>(j);
  if (type == "Digits") return std::make_unique<DigitsPreTokenizer>(j);
  if (type == "Split") return std::make_unique<SplitPreTokenizer>(j);
  if (type == "Sequence") return std::make_unique<SequencePreTokenizer>(j);
  j.unsupported_type();
}

}  // namespace attune::text::hf_json
