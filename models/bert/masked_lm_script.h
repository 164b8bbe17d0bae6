// BertForMaskedLM as TorchScript built from source (models/export/script_module.h): the
// scripted encoder (script_export.h) plus the masked-LM head, for fill-mask bundles.
#pragma once
#include "models/bert/masked_lm.h"
#include "models/export/script_module.h"

#include <torch/torch.h>

namespace attune::models {

// The model's current weights (float32), eval mode, any batch size and length:
//   forward(input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None)
//       -> Tensor   vocabulary logits at every position (B,T,V)
//   logits_at(input_ids, attention_mask, positions: Tensor, token_type_ids=None)
//       -> Tensor   logits (N,V) of the flattened (B*T) positions only, as
//                   BertForMaskedLMImpl::forward with positions: the projection onto the
//                   vocabulary dominates the cost, and most tokens are not masked
// The decoder reads the encoder's word embedding matrix (tied, stored once).
torch::jit::Module script_masked_lm(BertForMaskedLMImpl& model, script::ClassNames& names);

}  // namespace attune::models
