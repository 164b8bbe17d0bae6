// Vision Transformers as TorchScript built from source (models/export/script_module.h),
// for bundles that run without attune. The encoder blocks are BERT's exporter's
// (script_encoder_layer: the same TransformerEncoderLayer); the rest repeats
// VisionTransformerImpl::forward in eval mode op for op.
#pragma once
#include "models/export/script_module.h"
#include "models/vit/vit.h"

#include <torch/torch.h>

namespace attune::models {

// The model with its current weights (float32):
//   forward(images: Tensor) -> Tensor   (B, C, S, S) float, normalised as the model was
//                                       trained -> logits (B, num_classes); any B
// The attention mask and position bias depend on the fixed patch grid only, so they are
// computed once here (EncoderAttention::mask_for) and stored as buffers.
torch::jit::Module script_vit(VisionTransformerImpl& model, script::ClassNames& names);

}  // namespace attune::models
