// tokenizers' models (WordPiece, BPE, Unigram): one pre-tokenized piece to tokens.
#pragma once
#include "data/text/hf_tokenizer_json/json_at.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace attune::text::hf_json {

// Ids index embedding rows and an id -> token table: a corrupt huge id must not allocate
// gigabytes. Real vocabularies stay far below (XLM-R: 250002).
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

struct ModelToken {
  int64_t id = 0;
  size_t start = 0, end = 0;  // bytes of the piece
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::vector<ModelToken> tokenize(const std::string& piece) const = 0;
  std::optional<int64_t> token_to_id(const std::string& token) const;
  std::optional<std::string> id_to_token(int64_t id) const;
  int64_t vocab_size() const { return static_cast<int64_t>(tokens_.size()); }  // highest id + 1
  virtual std::optional<int64_t> unk_id() const = 0;

 protected:
  // Registers a vocabulary entry; a token listed twice keeps its last id, as a HashMap would.
  void add_vocab(const std::string& token, int64_t id);
  std::unordered_map<std::string, int64_t> ids_;
  std::vector<std::optional<std::string>> tokens_;
};

std::unique_ptr<Model> make_model(const JsonAt& j);
std::unique_ptr<Model> make_wordpiece_model(const JsonAt& j);
std::unique_ptr<Model> make_bpe_model(const JsonAt& j);
std::unique_ptr<Model> make_unigram_model(const JsonAt& j);

// The "vocab" object of WordPiece and BPE: {"token": id, ...}.
void read_vocab_object(const JsonAt& vocab, const std::function<void(const std::string&, int64_t)>& add);

}  // namespace attune::text::hf_json
