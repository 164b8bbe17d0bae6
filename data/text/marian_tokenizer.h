// Hugging Face's MarianTokenizer (OPUS-MT folders): source.spm splits the source,
// target.spm the target, and the ids are vocab.json's (target_vocab.json's for the
// target when tokenizer_config.json says separate_vocabs), not the .spm files' own. As
// transformers 5.17 does it: a leading ">>xx<<" language code is one token, a piece
// missing from the vocabulary (an unknown character's included) is <unk>, and the source
// ends with </s>. Decoding drops the special ids and detokenizes the
// pieces with the source .spm for a joint vocabulary, the target .spm for separate ones
// (a piece that .spm lacks comes out as written, its "▁" as a space).
#pragma once
#include "data/text/spm_library.h"
#include "data/text/translation_tokenizer.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace attune::text {

class MarianTokenizer : public TranslationTokenizer {
 public:
  // A MarianTokenizer folder (save_pretrained's) or what save() wrote; fails naming the
  // missing file or the key at fault.
  static std::unique_ptr<MarianTokenizer> load(const std::string& dir);
  // Whether dir holds what save() writes (tokenizer.json says "marian").
  static bool is_saved_marian(const std::string& dir);

  std::string kind() const override { return "marian"; }
  std::vector<int64_t> encode_source(const std::string& text) const override;
  std::vector<int64_t> encode_target(const std::string& text) const override;
  std::string decode_target(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(source_vocab_.size()); }
  int64_t pad_id() const override { return pad_; }
  int64_t start_id() const override { return pad_; }  // Marian starts decoding with <pad>
  int64_t eos_id() const override { return eos_; }
  int64_t unk_id() const { return unk_; }
  bool separate_vocabs() const { return separate_; }
  // save_hf() plus tokenizer.json {"kind": "marian"}.
  void save(const std::string& dir) const override;
  // The files transformers' MarianTokenizer.from_pretrained reads: source.spm, target.spm,
  // vocab.json, target_vocab.json (separate vocabularies), tokenizer_config.json.
  void save_hf(const std::string& dir) const;

 private:
  using Vocab = std::unordered_map<std::string, int64_t>;
  MarianTokenizer() = default;
  std::vector<int64_t> encode(const std::string& text, const SpmModel& spm, const Vocab& vocab) const;

  std::string dir_;
  bool separate_ = false;
  nlohmann::json config_;  // tokenizer_config.json as read ({} when absent)
  std::unique_ptr<SpmModel> source_spm_, target_spm_;
  Vocab source_vocab_, target_vocab_;
  std::unordered_map<int64_t, std::string> id_to_token_;  // the target side's
  int64_t unk_ = 0, eos_ = 0, pad_ = 0;
};

}  // namespace attune::text
