// SentencePiece models (unigram or BPE) through the sentencepiece library, with BERT's
// special-token layout: [CLS] a [SEP] (b [SEP]).
#pragma once
#include "data/text/spm_library.h"
#include "data/text/tokenizer.h"

namespace attune::text {

class SentencePieceTokenizer : public Tokenizer {
 public:
  // A given .model must have [CLS]/[SEP] pieces, or bos/eos to stand in for them.
  static std::unique_ptr<SentencePieceTokenizer> load(const std::string& model_path);
  static std::unique_ptr<SentencePieceTokenizer> load_dir(const std::string& dir);
  // Trains a model into out_dir/sentencepiece.model with pad=0, unk=1 and the control
  // symbols [CLS] [SEP] [MASK]. model_type: "unigram" or "bpe".
  static std::unique_ptr<SentencePieceTokenizer> train(const std::vector<std::string>& texts, int64_t vocab_size,
                                                       const std::string& model_type, const std::string& out_dir);

  // DebertaV2Tokenizer's [MASK] for a model without that piece (deberta-v3's spm.model):
  // transformers adds it after the pieces, as id piece count, so this does too. Encoding
  // never yields it; only masked-LM inputs and id_to_token see it. save() records it.
  void add_mask_after_pieces();

  std::string kind() const override { return "sentencepiece"; }
  std::vector<std::string> tokenize(const std::string& text) const override;
  std::vector<int64_t> encode_plain(const std::string& text) const override;
  int64_t vocab_size() const override { return model_->piece_size() + (mask_after_pieces_ ? 1 : 0); }
  int64_t pad_id() const override { return pad_; }
  int64_t unk_id() const override { return unk_; }
  int64_t cls_id() const override { return cls_; }
  int64_t sep_id() const override { return sep_; }
  int64_t mask_id() const override { return mask_; }
  std::string id_to_token(int64_t id) const override;
  // Ids back to text, as sentencepiece detokenizes (translation output).
  std::string decode(const std::vector<int64_t>& ids) const { return model_->decode(ids); }
  void save(const std::string& dir) const override;
  const std::string& model_path() const { return model_path_; }

 private:
  explicit SentencePieceTokenizer(const std::string& model_path);

  std::string model_path_;
  std::unique_ptr<SpmModel> model_;
  int64_t pad_ = 0, unk_ = 0, cls_ = 0, sep_ = 0, mask_ = 0;
  bool mask_after_pieces_ = false;
};

}  // namespace attune::text
