// DebertaV2ForMaskedLM as TorchScript built from source (models/export/script_module.h):
// the scripted encoder (script_export.h) plus the masked-LM head and tied decoder, in
// either of the head's layouts (legacy "cls.predictions" or "lm_predictions"), for
// fill-mask bundles.
#pragma once
#include "models/deberta/masked_lm.h"
#include "models/export/script_module.h"

#include <torch/torch.h>

namespace attune::models {

// The same methods as script_masked_lm (models/bert/masked_lm_script.h): forward(input_ids,
// attention_mask, token_type_ids=None) -> (B,T,V) and logits_at(input_ids, attention_mask,
// positions, token_type_ids=None) -> (N,V).
torch::jit::Module script_deberta_masked_lm(DebertaV2ForMaskedLMImpl& model, script::ClassNames& names);

}  // namespace attune::models
