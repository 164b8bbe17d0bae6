// tokenizers' decoders: WordPiece, ByteLevel, Metaspace, BPEDecoder, ByteFallback, Fuse,
// Strip, Replace and Sequence. Each rewrites the token list; the result is joined.
#pragma once
#include "data/text/hf_tokenizer_json/json_at.h"

#include <memory>
#include <string>
#include <vector>

namespace attune::text::hf_json {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

std::unique_ptr<Decoder> make_decoder(const JsonAt& j);

}  // namespace attune::text::hf_json
