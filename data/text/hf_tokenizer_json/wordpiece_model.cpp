// tokenizers' WordPiece model: greedy longest match, continuations carry a prefix, and a
// word with any unmatched rest (or too long) is one unknown token.
#include "data/text/hf_tokenizer_json/model.h"

#include "data/text/hf_tokenizer_json/unicode.h"

namespace attune::text::hf_json {
namespace {

class WordPieceModel : public Model {
 public:
  explicit WordPieceModel(const JsonAt& j)
      : prefix_(j.str_or("continuing_subword_prefix", "##")),
        max_chars_(j.int_or("max_input_chars_per_word", 100)) {
    read_vocab_object(j.at("vocab"), [&](const std::string& t, int64_t id) { add_vocab(t, id); });
    const std::string unk = j.str_or("unk_token", "[UNK]");
    const auto id = token_to_id(unk);
    if (!id) fail(j.where("unk_token"), "'" + unk + "' is not in the vocab");
    unk_ = *id;
  }

  std::optional<int64_t> unk_id() const override { return unk_; }

  std::vector<ModelToken> tokenize(const std::string& word) const override {
    const DecodedUtf8 d = decode_utf8(word);
    const std::vector<ModelToken> unknown = {{unk_, 0, word.size()}};
    if (static_cast<int64_t>(d.chars.size()) > max_chars_) return unknown;
    std::vector<ModelToken> out;
    size_t start = 0;  // code point index
    std::string candidate;
    while (start < d.chars.size()) {
      size_t end = d.chars.size();
      std::optional<int64_t> found;
      while (start < end) {
        candidate.assign(start > 0 ? prefix_ : "");
        candidate.append(word, d.starts[start], d.starts[end] - d.starts[start]);
        found = token_to_id(candidate);
        if (found) break;
        --end;
      }
      if (!found) return unknown;
      out.push_back({*found, d.starts[start], d.starts[end]});
      start = end;
    }
    return out;
  }

 private:
  std::string prefix_;
  int64_t max_chars_;
  int64_t unk_ = 0;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece_model(const JsonAt& j) { return std::make_unique<WordPieceModel>(j); }

}  // namespace attune::text::hf_json
