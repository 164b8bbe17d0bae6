// DeBERTa-v2/v3 as TorchScript built from source (models/export/script_module.h), for
// bundles that run without attune. The script repeats DebertaV2ModelImpl in eval mode op
// for op, so outputs match attune's.
#pragma once
#include "models/deberta/deberta.h"
#include "models/export/script_module.h"

#include <torch/torch.h>

namespace attune::models {

// The whole encoder, with the model's current weights (float32):
//   forward(input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None)
//       -> Tensor   last hidden state (B,T,H), T up to max_position_embeddings; token types
//                   are zeros when omitted and ignored without type embeddings
//   pool(hidden: Tensor, attention_mask: Tensor) -> Tensor   the ContextPooler on the
//                   first token; only with add_pooling_layer
// Relative positions come from a table of every distance's bucket up to
// max_position_embeddings, computed by attune's own bucketing.
torch::jit::Module script_deberta(DebertaV2ModelImpl& model, script::ClassNames& names);

// The attribute of script_deberta's module that holds the word embedding matrix (V,E),
// which the masked LM's tied decoder reads instead of storing a copy.
inline constexpr const char* kScriptDebertaWordEmbeddings = "embeddings_word_embeddings_weight";

}  // namespace attune::models
