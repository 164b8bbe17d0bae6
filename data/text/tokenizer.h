// The tokenizer interface shared by WordPiece and SentencePiece, with BERT's
// special-token layout and Hugging Face's "longest_first" truncation.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attune::text {

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> type_ids;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string kind() const = 0;  // "wordpiece" | "sentencepiece" | "hf_tokenizer_json"
  virtual std::vector<std::string> tokenize(const std::string& text) const = 0;
  virtual std::vector<int64_t> encode_plain(const std::string& text) const = 0;  // no special tokens
  // [CLS] a [SEP] (b [SEP]); type ids 0 for the first part, 1 for the second; at
  // most max_length ids, removing tokens from the longer part first (ties: second).
  // A Hugging Face tokenizer.json lays out its own special tokens (its post-processor).
  virtual Encoding encode(const std::string& text, const std::string* pair, int64_t max_length) const;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t pad_id() const = 0;
  virtual int64_t unk_id() const = 0;
  virtual int64_t cls_id() const = 0;
  virtual int64_t sep_id() const = 0;
  virtual int64_t mask_id() const = 0;
  virtual std::string id_to_token(int64_t id) const = 0;
  // Creates `dir`, writes the tokenizer's files and tokenizer.json ({"kind": ...}).
  virtual void save(const std::string& dir) const = 0;
};

// Loads what save() wrote, or a directory holding a Hugging Face tokenizer.json; fails
// naming the file when something is missing or corrupt.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

}  // namespace attune::text
