// tokenizers' BPE model: characters (or their byte-fallback tokens) merged by rank, the
// lowest-ranked adjacent pair first and the leftmost among equals.
#include "data/text/hf_tokenizer_json/model.h"

#include "data/text/hf_tokenizer_json/unicode.h"

#include <cstdio>

namespace attune::text::hf_json {
namespace {

struct BpeSymbol {
  int64_t id;
  size_t start, end;  // bytes of the piece
};

class BpeModel : public Model {
 public:
  explicit BpeModel(const JsonAt& j) {
    if (j.has("dropout")) {
      const double dropout = j.at("dropout").number();
      if (dropout != 0.0) fail(j.where("dropout"), "BPE dropout is for training; attune tokenizes deterministically (got " +
                                                       j.at("dropout").value.dump() + ", need null or 0)");
    }
    read_vocab_object(j.at("vocab"), [&](const std::string& t, int64_t id) { add_vocab(t, id); });
    if (j.has("unk_token")) {
      unk_token_ = j.at("unk_token").str();
      if (!token_to_id(*unk_token_)) fail(j.where("unk_token"), "'" + *unk_token_ + "' is not in the vocab");
    }
    if (j.has("continuing_subword_prefix")) prefix_ = j.at("continuing_subword_prefix").str();
    if (j.has("end_of_word_suffix")) suffix_ = j.at("end_of_word_suffix").str();
    fuse_unk_ = j.bool_or("fuse_unk", false);
    byte_fallback_ = j.bool_or("byte_fallback", false);
    ignore_merges_ = j.bool_or("ignore_merges", false);
    read_merges(j.at("merges"));
  }

  std::optional<int64_t> unk_id() const override { return unk_token_ ? token_to_id(*unk_token_) : std::nullopt; }

  std::vector<ModelToken> tokenize(const std::string& word) const override {
    if (word.empty()) return {};
    if (ignore_merges_) {
      if (const auto id = token_to_id(word)) return {{*id, 0, word.size()}};
    }
    std::vector<BpeSymbol> symbols = initial_symbols(word);
    merge_all(symbols);
    std::vector<ModelToken> out;
    out.reserve(symbols.size());
    for (const auto& s : symbols) out.push_back({s.id, s.start, s.end});
    return out;
  }

 private:
  void read_merges(const JsonAt& merges) {
    const size_t n = merges.size_of_array();
    for (size_t i = 0; i < n; ++i) {
      const JsonAt m = merges.item(i);
      std::string a, b;
      if (m.value.is_string()) {
        // Older files: "a b", split at the first space.
        const std::string s = m.str();
        const size_t space = s.find(' ');
        if (space == std::string::npos) fail(m.where(), "expected \"a b\", got " + m.value.dump());
        a = s.substr(0, space);
        b = s.substr(space + 1);
      } else if (m.value.is_array() && m.value.size() == 2) {
        a = m.item(0).str();
        b = m.item(1).str();
      } else {
        fail(m.where(), "expected \"a b\" or [\"a\", \"b\"], got " + m.value.dump().substr(0, 80));
      }
      const auto a_id = token_to_id(a), b_id = token_to_id(b);
      // As tokenizers: the merged token drops the prefix length from b, whatever b starts with.
      const size_t prefix_len = prefix_ ? prefix_->size() : 0;
      if (b.size() < prefix_len) fail(m.where(), "'" + b + "' is shorter than continuing_subword_prefix");
      const std::string merged = a + b.substr(prefix_len);
      const auto new_id = token_to_id(merged);
      if (!a_id || !b_id || !new_id) {
        fail(m.where(), "merge of '" + a + "' and '" + b + "' uses a token not in the vocab ('" +
                            (!a_id ? a : !b_id ? b : merged) + "')");
      }
      merges_.emplace(pair_key(*a_id, *b_id), std::make_pair(static_cast<int64_t>(i), *new_id));
    }
  }

  std::vector<BpeSymbol> initial_symbols(const std::string& word) const {
    const DecodedUtf8 d = decode_utf8(word);
    std::vector<BpeSymbol> out;
    std::optional<BpeSymbol> unk;  // a pending unknown, which fuse_unk may extend
    const auto flush_unk = [&] {
      if (unk) out.push_back(*unk);
      unk.reset();
    };
    for (size_t i = 0; i < d.chars.size(); ++i) {
      const size_t b = d.starts[i], e = d.starts[i + 1];
      std::string s = word.substr(b, e - b);
      if (i > 0 && prefix_) s = *prefix_ + s;
      if (i + 1 == d.chars.size() && suffix_) s += *suffix_;
      if (const auto id = token_to_id(s)) {
        flush_unk();
        out.push_back({*id, b, e});
        continue;
      }
      if (byte_fallback_) {
        std::vector<int64_t> bytes;
        for (unsigned char c : s) {
          char name[8];
          std::snprintf(name, sizeof name, "<0x%02X>", c);
          const auto id = token_to_id(name);
          if (!id) break;
          bytes.push_back(*id);
        }
        if (bytes.size() == s.size()) {
          // tokenizers gives each byte token one byte of length, counted from the character's start.
          for (size_t k = 0; k < bytes.size(); ++k) out.push_back({bytes[k], b + k, b + k + 1});
          continue;
        }
      }
      if (!unk_token_) continue;  // no unknown token: tokenizers drops the character
      const int64_t unk_id = *token_to_id(*unk_token_);
      if (unk && fuse_unk_) {
        unk->end = e;
      } else {
        flush_unk();
        unk = BpeSymbol{unk_id, b, e};
      }
    }
    flush_unk();
    return out;
  }

  void merge_all(std::vector<BpeSymbol>& symbols) const {
    while (symbols.size() > 1) {
      size_t best = symbols.size();
      int64_t best_rank = 0, best_id = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        const auto it = merges_.find(pair_key(symbols[i].id, symbols[i + 1].id));
        if (it == merges_.end()) continue;
        if (best == symbols.size() || it->second.first < best_rank) {  // strict: leftmost among equal ranks
          best = i;
          best_rank = it->second.first;
          best_id = it->second.second;
        }
      }
      if (best == symbols.size()) return;
      symbols[best] = {best_id, symbols[best].start, symbols[best + 1].end};
      symbols.erase(symbols.begin() + static_cast<long>(best) + 1);
    }
  }

  // Ids are at most kMaxTokenId, so a pair packs into one key.
  static uint64_t pair_key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }
  std::unordered_map<uint64_t, std::pair<int64_t, int64_t>> merges_;  // -> (rank, merged id)
  std::optional<std::string> unk_token_, prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
};

}  // namespace

std::unique_ptr<Model> make_bpe_model(const JsonAt& j) { return std::make_unique<BpeModel>(j); }

}  // namespace attune::text::hf_json
