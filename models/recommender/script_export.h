// Sequential recommenders (sasrec, bert4rec) as TorchScript built from source
// (models/export/script_module.h), for bundles that rank items without attune. The script
// repeats SequentialRecommenderImpl's encode and all_item_scores in eval mode op for op.
#pragma once
#include "models/export/script_module.h"
#include "models/recommender/recommender.h"

#include <torch/torch.h>

namespace attune::models {

// The model's current weights (float32):
//   forward(items: Tensor) -> Tensor
//     items (B,T) int64: item indices 1..num_items of each history, oldest first, left-padded
//     with 0; T at most the history the model reads (max_length, less bert4rec's [MASK]
//     position, which the script appends itself).
//     Returns the next item's scores (B, num_items + 2): column i scores item index i;
//     columns 0 (padding) and num_items + 1 ([MASK]) hold float32's lowest value.
// Fails for the context kind, whose target attention needs user features.
torch::jit::Module script_recommender(SequentialRecommenderImpl& model, script::ClassNames& names);

// The longest history forward takes.
int64_t script_history_length(const SequentialRecommenderImpl& model);

}  // namespace attune::models
