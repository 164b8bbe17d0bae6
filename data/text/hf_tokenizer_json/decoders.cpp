#include "data/text/hf_tokenizer_json/decoders.h"

#include "data/text/hf_tokenizer_json/byte_level.h"
#include "data/text/hf_tokenizer_json/pattern.h"
#include "data/text/hf_tokenizer_json/pre_tokenizers.h"
#include "data/text/hf_tokenizer_json/unicode.h"

#include <cctype>

namespace attune::text::hf_json {
namespace {

std::string replace_all_of(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) s.replace(pos, from.size(), to);
  return s;
}

// tokenizers' decoders/wordpiece.rs cleanup(), in its order.
std::string cleanup_tokenization(std::string s) {
  const char* const pairs[][2] = {{" .", "."},   {" ?", "?"},   {" !", "!"},         {" ,", ","},    {" ' ", "'"},  {" n't", "n't"},
                                  {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : pairs) s = replace_all_of(s, from, to);
  return s;
}

class WordPieceDecoder : public Decoder {
 public:
  explicit WordPieceDecoder(const JsonAt& j) : prefix_(j.str_or("prefix", "##")), cleanup_(j.bool_or("cleanup", true)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t = " " + t;
        }
      }
      if (cleanup_) t = cleanup_tokenization(t);
    }
    return tokens;
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class ByteLevelDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      // A token with a character outside the alphabet passes through as its own UTF-8.
      std::string mapped;
      bool all = true;
      for (char32_t c : decode_utf8(t).chars) {
        const auto b = char_to_byte(c);
        if (!b) {
          all = false;
          break;
        }
        mapped += static_cast<char>(*b);
      }
      bytes += all ? mapped : t;
    }
    return {utf8_lossy(bytes)};
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  explicit MetaspaceDecoder(const JsonAt& j) : replacement_(j.single_char("replacement")), scheme_(prepend_scheme_from_json(j)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::u32string out;
      for (char32_t c : decode_utf8(tokens[i]).chars) {
        if (c != replacement_) {
          out.push_back(c);
        } else if (!(i == 0 && scheme_ != PrependScheme::kNever)) {
          out.push_back(' ');
        }
      }
      tokens[i] = encode_utf8(out);
    }
    return tokens;
  }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(const JsonAt& j) : suffix_(j.str_or("suffix", "</w>")) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (!suffix_.empty()) tokens[i] = replace_all_of(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    }
    return tokens;
  }

 private:
  std::string suffix_;
};

class ByteFallbackDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    const auto flush = [&] {
      if (pending.empty()) return;
      if (utf8_lossy(pending) == pending) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending.size(); ++i) out.push_back("\xEF\xBF\xBD");  // one U+FFFD per byte
      }
      pending.clear();
    };
    for (auto& t : tokens) {
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
          std::isxdigit(static_cast<unsigned char>(t[4]))) {
        pending += static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16));
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    return out;
  }
};

class FuseDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    return {all};
  }
};

class StripDecoder : public Decoder {
 public:
  explicit StripDecoder(const JsonAt& j)
      : content_(j.single_char("content")), start_(static_cast<size_t>(j.int_or("start", 0))), stop_(static_cast<size_t>(j.int_or("stop", 0))) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) {
      const std::u32string chars = decode_utf8(t).chars;
      size_t begin = 0, end = chars.size();
      while (begin < std::min(start_, chars.size()) && chars[begin] == content_) ++begin;
      for (size_t i = 0; i < stop_ && end > begin && chars[end - 1] == content_; ++i) --end;
      t = encode_utf8(chars.substr(begin, end - begin));
    }
    return tokens;
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  explicit ReplaceDecoder(const JsonAt& j)
      : pattern_(TextPattern::from_json(j.at("pattern"))), content_(decode_utf8(j.at("content").str()).chars) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) t = encode_utf8(pattern_.replace_all(decode_utf8(t).chars, content_));
    return tokens;
  }

 private:
  TextPattern pattern_;
  std::u32string content_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(const JsonAt& j) {
    const JsonAt list = j.at("decoders");
    for (size_t i = 0; i < list.size_of_array(); ++i) parts_.push_back(make_decoder(list.item(i)));
  }
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& d : parts_) tokens = d->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const JsonAt& j) {
  const std::string type = j.type();
  if (type == "WordPiece") return std::make_unique<WordPieceDecoder>(j);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") return std::make_unique<MetaspaceDecoder>(j);
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(j);
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") return std::make_unique<StripDecoder>(j);
  if (type == "Replace") return std::make_unique<ReplaceDecoder>(j);
  if (type == "Sequence") return std::make_unique<SequenceDecoder>(j);
  j.unsupported_type();
}

}  // namespace attune::text::hf_json
