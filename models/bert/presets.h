// Named BERT sizes following Google's BERT miniatures (L layers, H hidden, A heads,
// intermediate 4H) plus the original base and large.
#pragma once
#include "models/bert/options.h"

#include <string>
#include <vector>

namespace attune::models {

// Unknown names fail(where, "unknown preset 'x' (known: tiny, mini, ...)").
BertOptions bert_preset(const std::string& name, int64_t vocab_size, const std::string& where = "model.preset");
std::vector<std::string> bert_preset_names();

}  // namespace attune::models
