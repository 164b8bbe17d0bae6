#include "data/text/hf_tokenizer_json/normalizers.h"

#include "data/text/hf_tokenizer_json/pattern.h"
#include "data/text/hf_tokenizer_json/precompiled_charsmap.h"
#include "data/text/hf_tokenizer_json/unicode.h"

namespace attune::text::hf_json {
namespace {

// Appends `now` standing for `old_count` old code points, as tokenizers' precompiled.rs
// replace(): extra characters count as inserted, fewer as removed after the last one.
void append_replacement(Transformation& t, size_t old_count, const std::u32string& now) {
  const long diff = static_cast<long>(now.size()) - static_cast<long>(old_count);
  for (char32_t c : now) t.emplace_back(c, 0);
  if (diff > 0) {
    for (long i = 0; i < diff; ++i) t[t.size() - 1 - static_cast<size_t>(i)].second = 1;
  } else if (diff < 0 && !t.empty()) {
    t.back().second += static_cast<int>(diff);
  }
}

void apply_unicode_form(NormalizedText& text, UnicodeForm form) {
  // Runs that start at a normalization boundary normalize independently of each other.
  const std::u32string& chars = text.chars();
  Transformation t;
  size_t begin = 0;
  for (size_t i = 1; i <= chars.size(); ++i) {
    if (i < chars.size() && !has_boundary_before(form, chars[i])) continue;
    const std::u32string run = chars.substr(begin, i - begin);
    append_replacement(t, run.size(), normalize_form(form, run));
    begin = i;
  }
  text.transform(t, 0);
}

void lowercase(NormalizedText& text) { text.map_chars([](char32_t c) { return to_lower(c); }); }

class BertNormalizer : public Normalizer {
 public:
  explicit BertNormalizer(const JsonAt& j)
      : clean_text_(j.bool_or("clean_text", true)),
        chinese_chars_(j.bool_or("handle_chinese_chars", true)),
        lowercase_(j.bool_or("lowercase", true)),
        // null strip_accents follows lowercase, as BERT does.
        strip_accents_(j.has("strip_accents") ? j.at("strip_accents").boolean() : lowercase_) {}
  void normalize(NormalizedText& text) const override {
    if (clean_text_) {
      text.filter([](char32_t c) {
        const bool control = c != '\t' && c != '\n' && c != '\r' && is_other(c);
        return !(c == 0 || c == 0xFFFD || control);
      });
      text.map_chars([](char32_t c) {
        const bool space = c == '\t' || c == '\n' || c == '\r' || is_whitespace(c);
        return std::u32string(1, space ? U' ' : c);
      });
    }
    if (chinese_chars_) {
      Transformation t;
      for (char32_t c : text.chars()) {
        if (is_cjk(c)) {
          t.insert(t.end(), {{U' ', 0}, {c, 1}, {U' ', 1}});
        } else {
          t.emplace_back(c, 0);
        }
      }
      text.transform(t, 0);
    }
    if (strip_accents_) {
      apply_unicode_form(text, UnicodeForm::kNfd);
      text.filter([](char32_t c) { return !is_nonspacing_mark(c); });
    }
    if (lowercase_) lowercase(text);
  }

 private:
  bool clean_text_, chinese_chars_, lowercase_, strip_accents_;
};

class FormNormalizer : public Normalizer {
 public:
  explicit FormNormalizer(UnicodeForm form) : form_(form) {}
  void normalize(NormalizedText& text) const override { apply_unicode_form(text, form_); }

 private:
  UnicodeForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override { lowercase(text); }
};

class StripAccentsNormalizer : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override {
    text.filter([](char32_t c) { return !is_mark(c); });
  }
};

class StripNormalizer : public Normalizer {
 public:
  explicit StripNormalizer(const JsonAt& j) : left_(j.bool_or("strip_left", true)), right_(j.bool_or("strip_right", true)) {}
  void normalize(NormalizedText& text) const override { text.strip(left_, right_); }

 private:
  bool left_, right_;
};

class NmtNormalizer : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override {
    text.filter([](char32_t c) {
      return !((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F);
    });
    text.map_chars([](char32_t c) {
      const bool space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
                         c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD;
      return std::u32string(1, space ? U' ' : c);
    });
  }
};

class ReplaceNormalizer : public Normalizer {
 public:
  explicit ReplaceNormalizer(const JsonAt& j)
      : pattern_(TextPattern::from_json(j.at("pattern"))), content_(decode_utf8(j.at("content").str()).chars) {}
  void normalize(NormalizedText& text) const override { text.replace_ranges(pattern_.find(text.chars()), content_); }

 private:
  TextPattern pattern_;
  std::u32string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(const JsonAt& j) : prepend_(decode_utf8(j.at("prepend").str()).chars) {}
  void normalize(NormalizedText& text) const override { text.prepend(prepend_); }

 private:
  std::u32string prepend_;
};

class PrecompiledNormalizer : public Normalizer {
 public:
  explicit PrecompiledNormalizer(const JsonAt& j) {
    if (!j.has("precompiled_charsmap")) return;  // an empty map changes nothing
    const JsonAt map = j.at("precompiled_charsmap");
    const std::string blob = base64_decode(map.str(), map.where());
    if (!blob.empty()) charsmap_ = std::make_unique<PrecompiledCharsmap>(blob, map.where());
  }
  void normalize(NormalizedText& text) const override {
    if (!charsmap_) return;
    // Grapheme by grapheme, then code point by code point, exactly as tokenizers'
    // precompiled.rs (whose comment says this odd order is what matches sentencepiece).
    const std::u32string& chars = text.chars();
    const std::vector<size_t> bounds = grapheme_bounds(chars);
    Transformation t;
    bool modified = false;
    for (size_t g = 0; g + 1 < bounds.size(); ++g) {
      const std::u32string grapheme = chars.substr(bounds[g], bounds[g + 1] - bounds[g]);
      const std::string bytes = encode_utf8(grapheme);
      if (bytes.size() < 6) {
        if (const auto norm = charsmap_->transform(bytes)) {
          modified = true;
          append_replacement(t, grapheme.size(), decode_utf8(*norm).chars);
          continue;
        }
      }
      for (char32_t c : grapheme) {
        if (const auto norm = charsmap_->transform(encode_utf8(std::u32string(1, c)))) {
          modified = true;
          append_replacement(t, 1, decode_utf8(*norm).chars);
        } else {
          t.emplace_back(c, 0);
        }
      }
    }
    if (modified) text.transform(t, 0);
  }

 private:
  std::unique_ptr<PrecompiledCharsmap> charsmap_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(const JsonAt& j) {
    const JsonAt list = j.at("normalizers");
    for (size_t i = 0; i < list.size_of_array(); ++i) parts_.push_back(make_normalizer(list.item(i)));
  }
  void normalize(NormalizedText& text) const override {
    for (const auto& n : parts_) n->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const JsonAt& j) {
  const std::string type = j.type();
  if (type == "BertNormalizer") return std::make_unique<BertNormalizer>(j);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "Strip") return std::make_unique<StripNormalizer>(j);
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "NFC") return std::make_unique<FormNormalizer>(UnicodeForm::kNfc);
  if (type == "NFD") return std::make_unique<FormNormalizer>(UnicodeForm::kNfd);
  if (type == "NFKC") return std::make_unique<FormNormalizer>(UnicodeForm::kNfkc);
  if (type == "NFKD") return std::make_unique<FormNormalizer>(UnicodeForm::kNfkd);
  if (type == "Nmt") return std::make_unique<NmtNormalizer>();
  if (type == "Replace") return std::make_unique<ReplaceNormalizer>(j);
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(j);
  if (type == "Precompiled") return std::make_unique<PrecompiledNormalizer>(j);
  if (type == "Sequence") return std::make_unique<SequenceNormalizer>(j);
  j.unsupported_type();
}

}  // namespace attune::text::hf_json
