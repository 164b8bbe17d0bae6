#include "core/error.h"
#include "data/text/wordpiece.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace attune::text {
namespace {

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }

class Trainer {
 public:
  Trainer(const std::map<std::string, int64_t>& word_counts) {
    std::set<std::string> alphabet;
    for (const auto& [word, count] : word_counts) {
      const std::u32string chars = utf8_to_u32(word);
      Word w{{}, count};
      for (size_t i = 0; i < chars.size(); ++i) {
        std::string piece = i ? "##" : "";
        append_utf8(piece, chars[i]);
        alphabet.insert(piece);
        w.symbols.push_back(-1 - static_cast<int32_t>(i));  // resolved below
      }
      words_.push_back(std::move(w));
    }
    for (const auto& a : alphabet) symbol_id(a);
    size_t wi = 0;
    for (const auto& [word, count] : word_counts) {
      const std::u32string chars = utf8_to_u32(word);
      for (size_t i = 0; i < chars.size(); ++i) {
        std::string piece = i ? "##" : "";
        append_utf8(piece, chars[i]);
        words_[wi].symbols[i] = symbol_id(piece);
      }
      ++wi;
    }
    for (size_t i = 0; i < words_.size(); ++i) add_pairs(static_cast<int32_t>(i), +1);
    for (const auto& [key, count] : pair_counts_) push(key, count);
  }

  const std::vector<std::string>& symbols() const { return symbols_; }

  // Merges the best pair; false when none reaches min_frequency.
  bool merge_once(int64_t min_frequency) {
    while (!heap_.empty()) {
      const Entry top = heap_.top();
      heap_.pop();
      const auto it = pair_counts_.find(top.key);
      if (it == pair_counts_.end() || it->second != top.count) continue;  // stale entry
      if (top.count < min_frequency) return false;
      apply(top.key);
      return true;
    }
    return false;
  }

 private:
  struct Entry {
    int64_t count;
    uint64_t key;
    std::string merged;
  };
  struct Lower {
    bool operator()(const Entry& x, const Entry& y) const {
      if (x.count != y.count) return x.count < y.count;
      return x.merged > y.merged;  // ties: the alphabetically first merge wins
    }
  };

  int32_t symbol_id(const std::string& s) {
    const auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    symbols_.push_back(s);
    return ids_[s] = static_cast<int32_t>(symbols_.size() - 1);
  }

  std::string merged_string(uint64_t key) const {
    const std::string& a = symbols_[key >> 32];
    const std::string& b = symbols_[key & 0xffffffffu];
    return a + (b.rfind("##", 0) == 0 ? b.substr(2) : b);
  }

  void push(uint64_t key, int64_t count) {
    if (count > 0) heap_.push({count, key, merged_string(key)});
  }

  void add_pairs(int32_t wi, int sign) {
    const Word& w = words_[wi];
    for (size_t i = 0; i + 1 < w.symbols.size(); ++i) {
      const uint64_t key = pair_key(w.symbols[i], w.symbols[i + 1]);
      int64_t& c = pair_counts_[key];
      c += sign * w.count;
      if (sign > 0) where_[key].insert(wi);
      touched_.insert(key);
    }
  }

  void apply(uint64_t key) {
    const int32_t a = static_cast<int32_t>(key >> 32), b = static_cast<int32_t>(key & 0xffffffffu);
    const int32_t merged = symbol_id(merged_string(key));
    const std::vector<int32_t> targets(where_[key].begin(), where_[key].end());
    touched_.clear();
    for (int32_t wi : targets) {
      Word& w = words_[wi];
      bool has = false;
      for (size_t i = 0; i + 1 < w.symbols.size(); ++i) has = has || (w.symbols[i] == a && w.symbols[i + 1] == b);
      if (!has) continue;
      add_pairs(wi, -1);
      std::vector<int32_t> out;
      for (size_t i = 0; i < w.symbols.size(); ++i) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == a && w.symbols[i + 1] == b) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(w.symbols[i]);
        }
      }
      w.symbols = std::move(out);
      add_pairs(wi, +1);
    }
    pair_counts_.erase(key);
    where_.erase(key);
    for (uint64_t k : touched_) {
      const auto it = pair_counts_.find(k);
      if (it == pair_counts_.end()) continue;
      if (it->second <= 0) {
        pair_counts_.erase(it);
      } else {
        push(k, it->second);
      }
    }
  }

  std::vector<Word> words_;
  std::vector<std::string> symbols_;
  std::unordered_map<std::string, int32_t> ids_;
  std::unordered_map<uint64_t, int64_t> pair_counts_;
  std::unordered_map<uint64_t, std::unordered_set<int32_t>> where_;
  std::priority_queue<Entry, std::vector<Entry>, Lower> heap_;
  std::unordered_set<uint64_t> touched_;
};

}  // namespace

std::unique_ptr<WordPieceTokenizer> train_wordpiece(const std::vector<std::string>& texts, int64_t vocab_size,
                                                    const WordPieceOptions& options, int64_t min_frequency) {
  std::map<std::string, int64_t> word_counts;  // ordered: training is deterministic
  for (const auto& text : texts) {
    for (const auto& word : basic_tokenize(text, options.basic)) {
      if (static_cast<int64_t>(word.size()) <= options.max_input_chars_per_word) word_counts[u32_to_utf8(word)]++;
    }
  }
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  Trainer trainer(word_counts);
  while (static_cast<int64_t>(vocab.size() + trainer.symbols().size()) < vocab_size &&
         trainer.merge_once(min_frequency)) {
  }
  // The alphabet is kept whole even when it alone exceeds vocab_size: every
  // training character stays encodable.
  for (const auto& s : trainer.symbols()) vocab.push_back(s);
  return std::make_unique<WordPieceTokenizer>(std::move(vocab), options, "wordpiece trainer");
}

}  // namespace attune::text
