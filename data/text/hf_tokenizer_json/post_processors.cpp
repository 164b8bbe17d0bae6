#include "data/text/hf_tokenizer_json/post_processors.h"

#include "data/text/hf_tokenizer_json/byte_level.h"
#include "data/text/hf_tokenizer_json/unicode.h"

#include <map>

namespace attune::text::hf_json {
namespace {

std::pair<std::string, int64_t> token_and_id(const JsonAt& j) {
  if (!j.value.is_array() || j.value.size() != 2) fail(j.where(), "expected [token, id], got " + j.value.dump().substr(0, 80));
  return {j.item(0).str(), j.item(1).integer()};
}

void set_type_ids(TokenEncoding& e, int64_t type_id) { e.type_ids.assign(e.size(), type_id); }


class BertPostProcessor : public PostProcessor {
 public:
  explicit BertPostProcessor(const JsonAt& j) : cls_(token_and_id(j.at("cls"))), sep_(token_and_id(j.at("sep"))) {}
  size_t added_tokens(bool pair) const override { return pair ? 3 : 2; }
  std::optional<int64_t> cls_id() const override { return cls_.second; }
  std::optional<int64_t> sep_id() const override { return sep_.second; }
  void process(std::vector<TokenEncoding>& encodings, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    TokenEncoding out;
    for (size_t i = 0; i < encodings.size(); ++i) {
      const int64_t type = i == 0 ? 0 : 1;
      if (i == 0) out.push(cls_.second, 0, cls_.first, {}, true);
      set_type_ids(encodings[i], type);
      out.append(encodings[i]);
      out.push(sep_.second, type, sep_.first, {}, true);
    }
    encodings = {out};
  }

 private:
  std::pair<std::string, int64_t> cls_, sep_;
};

class RobertaPostProcessor : public PostProcessor {
 public:
  explicit RobertaPostProcessor(const JsonAt& j)
      : cls_(token_and_id(j.at("cls"))),
        sep_(token_and_id(j.at("sep"))),
        trim_offsets_(j.bool_or("trim_offsets", true)),
        add_prefix_space_(j.bool_or("add_prefix_space", true)) {}
  size_t added_tokens(bool pair) const override { return pair ? 4 : 2; }
  std::optional<int64_t> cls_id() const override { return cls_.second; }
  std::optional<int64_t> sep_id() const override { return sep_.second; }
  void process(std::vector<TokenEncoding>& encodings, bool add_special_tokens) const override {
    for (auto& e : encodings) {
      if (trim_offsets_) trim_byte_level_offsets(e, add_prefix_space_);
      set_type_ids(e, 0);  // RoBERTa gives every token type id 0
    }
    if (!add_special_tokens) return;
    TokenEncoding out;
    for (size_t i = 0; i < encodings.size(); ++i) {
      out.push(i == 0 ? cls_.second : sep_.second, 0, i == 0 ? cls_.first : sep_.first, {}, true);
      out.append(encodings[i]);
      out.push(sep_.second, 0, sep_.first, {}, true);
    }
    encodings = {out};
  }

 private:
  std::pair<std::string, int64_t> cls_, sep_;
  bool trim_offsets_, add_prefix_space_;
};

class ByteLevelPostProcessor : public PostProcessor {
 public:
  explicit ByteLevelPostProcessor(const JsonAt& j)
      : trim_offsets_(j.bool_or("trim_offsets", true)), add_prefix_space_(j.bool_or("add_prefix_space", true)) {}
  size_t added_tokens(bool) const override { return 0; }
  void process(std::vector<TokenEncoding>& encodings, bool) const override {
    if (!trim_offsets_) return;
    for (auto& e : encodings) trim_byte_level_offsets(e, add_prefix_space_);
  }

 private:
  bool trim_offsets_, add_prefix_space_;
};

class TemplatePostProcessor : public PostProcessor {
 public:
  explicit TemplatePostProcessor(const JsonAt& j) {
    const JsonAt specials = j.at("special_tokens");
    if (!specials.value.is_object()) specials.fail_at("", "expected an object of special tokens");
    for (const auto& [name, value] : specials.value.items()) {
      const JsonAt s{value, specials.file, specials.path + "." + name};
      const JsonAt ids = s.at("ids"), tokens = s.at("tokens");
      if (ids.size_of_array() != tokens.size_of_array()) s.fail_at("ids", "must be as long as tokens");
      Special sp;
      for (size_t i = 0; i < ids.size_of_array(); ++i) {
        sp.ids.push_back(ids.item(i).integer());
        sp.tokens.push_back(tokens.item(i).str());
      }
      specials_[name] = sp;
    }
    single_ = read_template(j.at("single"));
    pair_ = read_template(j.at("pair"));
  }
  size_t added_tokens(bool pair) const override {
    size_t n = 0;
    for (const auto& piece : pair ? pair_ : single_) {
      if (piece.special) n += specials_.at(piece.id).ids.size();
    }
    return n;
  }
  std::optional<int64_t> cls_id() const override { return edge_id(true); }
  std::optional<int64_t> sep_id() const override { return edge_id(false); }
  void process(std::vector<TokenEncoding>& encodings, bool add_special_tokens) const override {
    TokenEncoding out;
    for (const auto& piece : encodings.size() > 1 ? pair_ : single_) {
      if (piece.special) {
        if (!add_special_tokens) continue;
        const Special& s = specials_.at(piece.id);
        for (size_t i = 0; i < s.ids.size(); ++i) out.push(s.ids[i], piece.type_id, s.tokens[i], {}, true);
        continue;
      }
      const size_t which = piece.id == "A" ? 0 : 1;
      if (which >= encodings.size()) continue;
      set_type_ids(encodings[which], piece.type_id);
      out.append(encodings[which]);
    }
    encodings = {out};
  }

 private:
  struct Piece {
    bool special = false;
    std::string id;  // "A"/"B", or a special token's name
    int64_t type_id = 0;
  };
  struct Special {
    std::vector<int64_t> ids;
    std::vector<std::string> tokens;
  };

  std::vector<Piece> read_template(const JsonAt& list) const {
    std::vector<Piece> out;
    for (size_t i = 0; i < list.size_of_array(); ++i) {
      const JsonAt item = list.item(i);
      Piece p;
      if (item.has("SpecialToken")) {
        const JsonAt s = item.at("SpecialToken");
        p.special = true;
        p.id = s.at("id").str();
        p.type_id = s.int_or("type_id", 0);
        if (!specials_.count(p.id)) s.fail_at("id", "'" + p.id + "' is not in special_tokens");
      } else if (item.has("Sequence")) {
        const JsonAt s = item.at("Sequence");
        p.id = s.at("id").str();
        p.type_id = s.int_or("type_id", 0);
        if (p.id != "A" && p.id != "B") s.fail_at("id", "expected \"A\" or \"B\", got '" + p.id + "'");
      } else {
        item.fail_at("", "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      }
      out.push_back(p);
    }
    return out;
  }

  std::optional<int64_t> edge_id(bool first) const {
    if (single_.empty()) return std::nullopt;
    const Piece& p = first ? single_.front() : single_.back();
    if (!p.special) return std::nullopt;
    const Special& s = specials_.at(p.id);
    if (s.ids.size() != 1) return std::nullopt;
    return s.ids[0];
  }

  std::map<std::string, Special> specials_;
  std::vector<Piece> single_, pair_;
};

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(const JsonAt& j) {
    const JsonAt list = j.at("processors");
    for (size_t i = 0; i < list.size_of_array(); ++i) parts_.push_back(make_post_processor(list.item(i)));
  }
  size_t added_tokens(bool pair) const override {
    size_t n = 0;
    for (const auto& p : parts_) n += p->added_tokens(pair);
    return n;
  }
  std::optional<int64_t> cls_id() const override {
    for (const auto& p : parts_) {
      if (const auto id = p->cls_id()) return id;
    }
    return std::nullopt;
  }
  std::optional<int64_t> sep_id() const override {
    for (const auto& p : parts_) {
      if (const auto id = p->sep_id()) return id;
    }
    return std::nullopt;
  }
  void process(std::vector<TokenEncoding>& encodings, bool add_special_tokens) const override {
    for (const auto& p : parts_) p->process(encodings, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

}  // namespace

void trim_byte_level_offsets(TokenEncoding& e, bool add_prefix_space) {
  const char32_t space = byte_to_char(' ');
  const auto is_space = [&](char32_t c) { return c == space || is_whitespace(c); };
  for (size_t i = 0; i < e.size(); ++i) {
    const std::u32string token = decode_utf8(e.tokens[i]).chars;
    size_t leading = 0, trailing = 0;
    while (leading < token.size() && is_space(token[leading])) ++leading;
    while (trailing < token.size() && is_space(token[token.size() - 1 - trailing])) ++trailing;
    Span& o = e.offsets[i];
    if (leading > 0) {
      const bool is_first = i == 0 || o.start == 0;
      if (is_first && add_prefix_space && leading == 1) leading = 0;  // the space the pre-tokenizer added
      o.start = std::min(o.start + leading, o.end);
    }
    if (trailing > 0 && o.end >= trailing) o.end = std::max(o.end - trailing, o.start);
  }
}

std::unique_ptr<PostProcessor> make_post_processor(const JsonAt& j) {
  const std::string type = j.type();
  if (type == "TemplateProcessing") return std::make_unique<TemplatePostProcessor>(j);
  if (type == "BertProcessing") return std::make_unique<BertPostProcessor>(j);
  if (type == "RobertaProcessing") return std::make_unique<RobertaPostProcessor>(j);
  if (type == "ByteLevel") return std::make_unique<ByteLevelPostProcessor>(j);
  if (type == "Sequence") return std::make_unique<SequencePostProcessor>(j);
  j.unsupported_type();
}

}  // namespace attune::text::hf_json
