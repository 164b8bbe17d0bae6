// WordPiece as BERT uses it: basic tokenization, then greedy longest-match-first
// subwords with "##" continuations, over a vocab.txt (one token per line, id = line).
#pragma once
#include "data/text/basic_tokenizer.h"
#include "data/text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <unordered_map>

namespace attune::text {

struct WordPieceOptions {
  BasicTokenizerOptions basic;
  int64_t max_input_chars_per_word = 100;
  nlohmann::json to_json() const;
  static WordPieceOptions from_json(const nlohmann::json& j, const std::string& where);
};

class WordPieceTokenizer : public Tokenizer {
 public:
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options, const std::string& source);
  static std::unique_ptr<WordPieceTokenizer> from_vocab_file(const std::string& path, const WordPieceOptions& options);
  static std::unique_ptr<WordPieceTokenizer> load(const std::string& dir);

  std::string kind() const override { return "wordpiece"; }
  std::vector<std::string> tokenize(const std::string& text) const override;
  std::vector<int64_t> encode_plain(const std::string& text) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
  int64_t pad_id() const override { return pad_; }
  int64_t unk_id() const override { return unk_; }
  int64_t cls_id() const override { return cls_; }
  int64_t sep_id() const override { return sep_; }
  int64_t mask_id() const override { return mask_; }
  std::string id_to_token(int64_t id) const override;
  void save(const std::string& dir) const override;
  const WordPieceOptions& options() const { return options_; }
  const std::vector<std::string>& vocab() const { return vocab_; }

 private:
  // Appends the subword ids of one basic-tokenized word.
  void word_pieces(const std::u32string& word, std::vector<int64_t>& out) const;

  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int64_t> ids_;
  WordPieceOptions options_;
  int64_t pad_ = 0, unk_ = 0, cls_ = 0, sep_ = 0, mask_ = 0;
};

// Learns a WordPiece vocabulary from texts the way Hugging Face tokenizers'
// WordPieceTrainer does: start from the characters (word-initial, and "##"
// continuations), then merge the most frequent adjacent pair until vocab_size.
// Ids 0..4 are [PAD] [UNK] [CLS] [SEP] [MASK]. Deterministic.
std::unique_ptr<WordPieceTokenizer> train_wordpiece(const std::vector<std::string>& texts, int64_t vocab_size,
                                                    const WordPieceOptions& options, int64_t min_frequency = 2);

}  // namespace attune::text
