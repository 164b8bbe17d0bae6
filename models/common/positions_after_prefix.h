// Modules that number token positions (learned position embeddings) implement this, so
// that prefix tuning's learned keys and values count as past tokens, as transformers
// treats PEFT's prefix (past_key_values): the first real token then takes position
// `past_length`, and an adapter trained in PEFT gives the same outputs here.
#pragma once
#include <cstdint>

namespace attune::models {

class PositionsAfterPrefix {
 public:
  virtual ~PositionsAfterPrefix() = default;
  virtual void set_past_length(int64_t past_length) = 0;
};

}  // namespace attune::models
