// tokenizers' pre-tokenizers: BertPreTokenizer, ByteLevel, Metaspace, Whitespace,
// WhitespaceSplit, Punctuation, Split, Digits and Sequence.
#pragma once
#include "data/text/hf_tokenizer_json/normalized_text.h"

#include <memory>
#include <vector>

namespace attune::text::hf_json {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces each piece by the pieces it splits into (and may rewrite their text).
  virtual void pre_tokenize(std::vector<NormalizedText>& pieces) const = 0;
};

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonAt& j);

// Metaspace's prepend_scheme, shared with its decoder.
enum class PrependScheme { kFirst, kAlways, kNever };
PrependScheme prepend_scheme_from_json(const JsonAt& j);

}  // namespace attune::text::hf_json
