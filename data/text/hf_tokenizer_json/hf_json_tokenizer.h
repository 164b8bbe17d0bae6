// A Hugging Face tokenizer.json (the tokenizers library's serialization) as an attune
// Tokenizer: added tokens, normalizer, pre-tokenizer, model, post-processor and decoder,
// each read by its own file here. Offsets are UTF-8 byte offsets into the input text (the
// Python library reports character offsets for str input; tools/parity converts).
// The file's "truncation" and "padding" sections are read for nothing but the pad token:
// attune's own max_length governs truncation, and batching pads.
#pragma once
#include "data/text/hf_tokenizer_json/token_encoding.h"
#include "data/text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>

namespace attune::text::hf_json {
class AddedVocabulary;
class Normalizer;
class PreTokenizer;
class Model;
class PostProcessor;
class Decoder;
}  // namespace attune::text::hf_json

namespace attune::text {

struct OffsetEncoding {
  std::vector<int64_t> ids, type_ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<size_t, size_t>> offsets;  // bytes of the input; (0, 0) for added special tokens
  std::vector<uint8_t> special_tokens_mask;
};

// Whether a parsed tokenizer.json is Hugging Face's (a "model" object with a "type"),
// not the small {"kind": ...} file attune writes for its own tokenizers.
bool is_hf_tokenizer_json(const nlohmann::json& j);

class HfJsonTokenizer : public Tokenizer {
 public:
  // Fails with one line naming the file and the JSON path of anything unsupported.
  static std::unique_ptr<HfJsonTokenizer> load(const std::string& path);
  static std::unique_ptr<HfJsonTokenizer> from_json_text(const std::string& text, const std::string& file);
  ~HfJsonTokenizer() override;

  // max_length 0: no truncation; otherwise "longest_first" down to max_length in all.
  OffsetEncoding encode_with_offsets(const std::string& text, const std::string* pair, bool add_special_tokens,
                                     int64_t max_length = 0) const;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const;

  std::string kind() const override { return "hf_tokenizer_json"; }
  std::vector<std::string> tokenize(const std::string& text) const override;
  std::vector<int64_t> encode_plain(const std::string& text) const override;
  Encoding encode(const std::string& text, const std::string* pair, int64_t max_length) const override;
  int64_t vocab_size() const override;
  // Missing special tokens fail naming the file: a tokenizer without [MASK] cannot mask.
  int64_t pad_id() const override;
  int64_t unk_id() const override;
  int64_t cls_id() const override;
  int64_t sep_id() const override;
  int64_t mask_id() const override;
  std::string id_to_token(int64_t id) const override;
  // Writes the tokenizer.json it was read from, unchanged.
  void save(const std::string& dir) const override;
  // That tokenizer.json's text.
  const std::string& json_text() const { return json_text_; }

 private:
  HfJsonTokenizer() = default;
  hf_json::TokenEncoding encode_sequence(const std::string& text, int64_t type_id) const;
  std::optional<int64_t> find_token(std::initializer_list<const char*> names) const;
  int64_t required(const std::optional<int64_t>& id, const char* what) const;

  std::string file_, json_text_;
  std::unique_ptr<hf_json::AddedVocabulary> added_;
  std::unique_ptr<hf_json::Normalizer> normalizer_;
  std::unique_ptr<hf_json::PreTokenizer> pre_tokenizer_;
  std::unique_ptr<hf_json::Model> model_;
  std::unique_ptr<hf_json::PostProcessor> post_processor_;
  std::unique_ptr<hf_json::Decoder> decoder_;
  std::optional<int64_t> pad_;
};

}  // namespace attune::text
