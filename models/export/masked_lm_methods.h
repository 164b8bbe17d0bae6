// The methods every fill-mask bundle has, whichever encoder family it scripts.
#pragma once
#include "models/export/script_module.h"

#include <string>

namespace attune::script {

// Adds head(hidden), logits_at(input_ids, attention_mask, positions, token_type_ids) and
// forward(input_ids, attention_mask, token_type_ids) and builds the module. `encoder` is the
// scripted encoder's attribute path, `transformed` the head's expression of `hidden` before
// the decoder, and `decoded` the decoder's expression of `h` (the transformed states).
torch::jit::Module build_masked_lm(ScriptModuleBuilder& b, const std::string& encoder, const std::string& transformed,
                                   const std::string& decoded);

}  // namespace attune::script
