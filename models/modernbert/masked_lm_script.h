// ModernBertForMaskedLM as TorchScript built from source (models/export/script_module.h):
// the scripted encoder (script_export.h) plus the prediction head and tied decoder, for
// fill-mask bundles.
#pragma once
#include "models/export/script_module.h"
#include "models/modernbert/masked_lm.h"

#include <torch/torch.h>

namespace attune::models {

// The same methods as script_masked_lm (models/bert/masked_lm_script.h): forward(input_ids,
// attention_mask, token_type_ids=None) -> (B,T,V) and logits_at(input_ids, attention_mask,
// positions, token_type_ids=None) -> (N,V); token types are ignored.
torch::jit::Module script_modernbert_masked_lm(ModernBertForMaskedLMImpl& model, script::ClassNames& names);

}  // namespace attune::models
