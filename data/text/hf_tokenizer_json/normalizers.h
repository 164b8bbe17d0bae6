// tokenizers' normalizers: BertNormalizer, Lowercase, Strip, StripAccents, NFC/NFD/NFKC/NFKD,
// Nmt, Replace, Prepend, Precompiled and Sequence.
#pragma once
#include "data/text/hf_tokenizer_json/normalized_text.h"

#include <memory>

namespace attune::text::hf_json {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedText& text) const = 0;
};

// Fails naming the JSON path for a type attune does not implement.
std::unique_ptr<Normalizer> make_normalizer(const JsonAt& j);

}  // namespace attune::text::hf_json
