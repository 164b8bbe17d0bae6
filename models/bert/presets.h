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

// Parameters of BertModel(options) without building it (large presets take seconds and
// gigabytes to construct): embeddings, layers, final pre-LN norm and pooler as configured.
int64_t bert_parameter_count(const BertOptions& options);

}  // namespace attune::models
