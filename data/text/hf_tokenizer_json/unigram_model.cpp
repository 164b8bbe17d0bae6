// tokenizers' Unigram model: the Viterbi path over the vocabulary's pieces (their log
// probabilities summed), an unknown character costing the lowest score minus 10, and
// adjacent unknowns fused into one token, as Unigram::encode_optimized does.
#include "data/text/hf_tokenizer_json/model.h"

#include "data/text/hf_tokenizer_json/unicode.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace attune::text::hf_json {
namespace {

constexpr double kUnknownPenalty = 10.0;

// Byte trie over the pieces, for the pieces that start at a position.
class PieceTrie {
 public:
  PieceTrie() : nodes_(1) {}
  void insert(const std::string& key, int64_t id) {
    size_t node = 0;
    for (unsigned char c : key) {
      const auto it = nodes_[node].next.find(c);
      if (it != nodes_[node].next.end()) {
        node = it->second;
      } else {
        nodes_.emplace_back();
        nodes_[node].next[c] = nodes_.size() - 1;
        node = nodes_.size() - 1;
      }
    }
    nodes_[node].id = id;
  }
  // Calls f(end, id) for every piece that `text` has at `start`, shortest first.
  template <typename F>
  void prefixes(const std::string& text, size_t start, F f) const {
    size_t node = 0;
    for (size_t i = start; i < text.size(); ++i) {
      const auto it = nodes_[node].next.find(static_cast<unsigned char>(text[i]));
      if (it == nodes_[node].next.end()) return;
      node = it->second;
      if (nodes_[node].id >= 0) f(i + 1, nodes_[node].id);
    }
  }

 private:
  struct Node {
    std::unordered_map<unsigned char, size_t> next;
    int64_t id = -1;
  };
  std::vector<Node> nodes_;
};

class UnigramModel : public Model {
 public:
  explicit UnigramModel(const JsonAt& j) {
    const JsonAt vocab = j.at("vocab");
    const size_t n = vocab.size_of_array();
    if (n == 0) fail(vocab.where(), "empty vocabulary");
    if (static_cast<int64_t>(n) > kMaxTokenId) fail(vocab.where(), "more than " + std::to_string(kMaxTokenId) + " pieces");
    scores_.resize(n);
    min_score_ = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < n; ++i) {
      const JsonAt entry = vocab.item(i);
      if (!entry.value.is_array() || entry.value.size() != 2) {
        fail(entry.where(), "expected [piece, score], got " + entry.value.dump().substr(0, 80));
      }
      const std::string piece = entry.item(0).str();
      scores_[i] = entry.item(1).number();
      min_score_ = std::min(min_score_, scores_[i]);
      add_vocab(piece, static_cast<int64_t>(i));
    }
    // The trie maps a piece to the id its text looks up to (the last entry, for duplicates).
    for (const auto& [piece, id] : ids_) trie_.insert(piece, id);
    if (j.has("unk_id")) {
      const JsonAt u = j.at("unk_id");
      const int64_t id = u.integer();
      if (id < 0 || id >= static_cast<int64_t>(n)) fail(u.where(), std::to_string(id) + " is not a piece's index");
      unk_ = id;
    }
    byte_fallback_ = j.bool_or("byte_fallback", false);
  }

  std::optional<int64_t> unk_id() const override { return unk_; }

  std::vector<ModelToken> tokenize(const std::string& text) const override {
    std::vector<ModelToken> out;
    for (const auto& [start, end] : viterbi(text)) {
      const std::string piece = text.substr(start, end - start);
      if (const auto id = token_to_id(piece)) {
        out.push_back({*id, start, end});
        continue;
      }
      if (byte_fallback_) {
        std::vector<int64_t> bytes;
        for (unsigned char c : piece) {
          char name[8];
          std::snprintf(name, sizeof name, "<0x%02X>", c);
          const auto id = token_to_id(name);
          if (!id) break;
          bytes.push_back(*id);
        }
        if (bytes.size() == piece.size()) {
          for (int64_t id : bytes) out.push_back({id, start, end});  // each with the whole piece's offsets
          continue;
        }
      }
      if (!unk_) fail("tokenizer.json: model.unk_id", "the Unigram model has no unk_id but met an unknown piece");
      out.push_back({*unk_, start, end});
    }
    return out;
  }

 private:
  // Byte ranges of the best segmentation; unknown runs fused.
  std::vector<std::pair<size_t, size_t>> viterbi(const std::string& text) const {
    struct Best {
      int64_t id = -1;
      double score = 0;
      size_t starts_at = 0;
      bool set = false;
    };
    const size_t size = text.size();
    std::vector<Best> best(size + 1);
    const double unk_score = min_score_ - kUnknownPenalty;
    const DecodedUtf8 d = decode_utf8(text);
    for (size_t k = 0; k < d.chars.size(); ++k) {
      const size_t start = d.starts[k];
      const size_t char_len = d.starts[k + 1] - start;
      const double here = best[start].score;
      bool has_single_char = false;
      trie_.prefixes(text, start, [&](size_t end, int64_t id) {
        Best& target = best[end];
        const double candidate = scores_[static_cast<size_t>(id)] + here;
        if (!target.set || candidate > target.score) target = {id, candidate, start, true};
        if (end - start == char_len) has_single_char = true;
      });
      if (!has_single_char) {
        Best& target = best[start + char_len];
        const double candidate = unk_score + here;
        if (!target.set || candidate > target.score) target = {unk_.value_or(-1), candidate, start, true};
      }
    }
    std::vector<std::pair<size_t, size_t>> pieces;
    size_t end = size;
    std::optional<size_t> unk_end;  // end of the unknown run being fused
    while (end > 0) {
      const Best& node = best[end];
      const bool unknown = unk_ && node.id == *unk_;
      if (unknown) {
        if (!unk_end) unk_end = end;
      } else {
        if (unk_end) pieces.emplace_back(end, *unk_end);
        unk_end.reset();
        pieces.emplace_back(node.starts_at, end);
      }
      end = node.starts_at;
    }
    if (unk_end) pieces.emplace_back(0, *unk_end);
    std::reverse(pieces.begin(), pieces.end());
    return pieces;
  }

  std::vector<double> scores_;
  double min_score_ = 0;
  std::optional<int64_t> unk_;
  bool byte_fallback_ = false;
  PieceTrie trie_;
};

}  // namespace

std::unique_ptr<Model> make_unigram_model(const JsonAt& j) { return std::make_unique<UnigramModel>(j); }

}  // namespace attune::text::hf_json
