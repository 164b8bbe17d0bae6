// ModernBERT as TorchScript built from source (models/export/script_module.h), for bundles
// that run without attune. The script repeats ModernBertModelImpl in eval mode op for op,
// except that attention takes the math path (attend_lines).
#pragma once
#include "models/export/script_module.h"
#include "models/modernbert/modernbert.h"

#include <torch/torch.h>

namespace attune::models {

// The whole encoder, with the model's current weights (float32):
//   forward(input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None)
//       -> Tensor   hidden states after final_norm (B,T,H); token_type_ids is ignored
//                   (ModernBERT has none), T up to max_position_embeddings
//   pool(hidden: Tensor, attention_mask: Tensor) -> Tensor   the prediction head on the
//                   first token or the masked mean (classifier_pooling); only with the head
// The rotary tables are computed per call as transformers computes them, so any length works.
torch::jit::Module script_modernbert(ModernBertModelImpl& model, script::ClassNames& names);

// The attribute of script_modernbert's module that holds the token embedding matrix (V,H),
// which the masked LM's tied decoder reads instead of storing a copy.
inline constexpr const char* kScriptModernBertTokEmbeddings = "embeddings_tok_embeddings_weight";

}  // namespace attune::models
