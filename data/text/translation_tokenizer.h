// What translation needs of a tokenizer: ids for the source side and the target side,
// the decoder's special ids, and target ids back to text. Two kinds: one joint
// SentencePiece model (attune's own runs), and an OPUS-MT folder's two models whose ids
// come from vocab.json (MarianTokenizer, marian_tokenizer.h).
#pragma once
#include "data/text/sentencepiece.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attune::text {

class TranslationTokenizer {
 public:
  virtual ~TranslationTokenizer() = default;
  virtual std::string kind() const = 0;
  // Ids without EOS (translation appends it).
  virtual std::vector<int64_t> encode_source(const std::string& text) const = 0;
  virtual std::vector<int64_t> encode_target(const std::string& text) const = 0;
  // Generated target ids (special ids are dropped) back to text.
  virtual std::string decode_target(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t pad_id() const = 0;
  virtual int64_t start_id() const = 0;  // the decoder's first input
  virtual int64_t eos_id() const = 0;
  // Creates `dir` and writes what load_translation_tokenizer reads back.
  virtual void save(const std::string& dir) const = 0;
};

// A joint SentencePiece model: [CLS] (or <s>) starts the decoder, [SEP] (or </s>) ends
// both sides; pad, start and EOS must be distinct pieces.
class JointSentencePiece : public TranslationTokenizer {
 public:
  explicit JointSentencePiece(std::shared_ptr<SentencePieceTokenizer> model);
  std::string kind() const override { return "sentencepiece"; }
  std::vector<int64_t> encode_source(const std::string& text) const override { return model_->encode_plain(text); }
  std::vector<int64_t> encode_target(const std::string& text) const override { return model_->encode_plain(text); }
  std::string decode_target(const std::vector<int64_t>& ids) const override { return model_->decode(ids); }
  int64_t vocab_size() const override { return model_->vocab_size(); }
  int64_t pad_id() const override { return model_->pad_id(); }
  int64_t start_id() const override { return model_->cls_id(); }
  int64_t eos_id() const override { return model_->sep_id(); }
  void save(const std::string& dir) const override { model_->save(dir); }

 private:
  std::shared_ptr<SentencePieceTokenizer> model_;
};

// A tokenizer as translation uses it: a SentencePiece one becomes a joint one, anything
// else (WordPiece, tokenizer.json) fails naming `where` (translation detokenizes its output).
std::shared_ptr<TranslationTokenizer> as_translation_tokenizer(std::unique_ptr<Tokenizer> tokenizer,
                                                               const std::string& where);
// What save() wrote: a Marian folder (tokenizer.json {"kind": "marian"}) or a joint model.
std::shared_ptr<TranslationTokenizer> load_translation_tokenizer(const std::string& dir);

}  // namespace attune::text
