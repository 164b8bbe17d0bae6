// tokenizers' post-processors: TemplateProcessing, BertProcessing, RobertaProcessing,
// ByteLevel (offset trimming) and Sequence.
#pragma once
#include "data/text/hf_tokenizer_json/token_encoding.h"

#include <memory>
#include <optional>

namespace attune::text::hf_json {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // How many special tokens process() adds to one sequence or a pair (for truncation).
  virtual size_t added_tokens(bool pair) const = 0;
  // One encoding per sequence in; the processed encodings out (usually merged into one).
  virtual void process(std::vector<TokenEncoding>& encodings, bool add_special_tokens) const = 0;
  // The ids it would put first and last around a single sequence, when it adds one each.
  virtual std::optional<int64_t> cls_id() const { return std::nullopt; }
  virtual std::optional<int64_t> sep_id() const { return std::nullopt; }
};

std::unique_ptr<PostProcessor> make_post_processor(const JsonAt& j);

// ByteLevel's offset trimming: leading and trailing spaces leave a token's offsets.
void trim_byte_level_offsets(TokenEncoding& e, bool add_prefix_space);

}  // namespace attune::text::hf_json
