// Any text encoder of the zoo as TorchScript, one calling convention for every family, so
// task heads export without knowing which encoder they sit on.
#pragma once
#include "models/export/script_module.h"
#include "models/text_encoder.h"

#include <torch/script.h>

namespace attune::models {

// The encoder's scripted module:
//   forward(input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None
//           [, context: Optional[Tensor]=None when context_size() > 0]) -> Tensor (B,T,H)
//   pool(hidden: Tensor, attention_mask: Tensor) -> Tensor (B,H), the encoder's own pooling
//           (EncoderOutput::pooled), present exactly when the encoder pools
// Fails with one line for an encoder family that has no script form.
torch::jit::Module script_text_encoder(TextEncoderImpl& encoder, script::ClassNames& names);

}  // namespace attune::models
