// The "init" key of image classification: a pretrained ViT to fine-tune, "hf:DIR" (a
// transformers ViTModel / ViTForImageClassification folder) or "timm:FILE" (a timm vit_*
// state dict), read by models/vit/checkpoint.h.
#pragma once
#include "models/vit/checkpoint.h"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace attune::image_classification {

// Reads the checkpoint and writes what it fixes into the run config: the model section's
// sizes, channels and LayerNorm epsilon, and, where data.mean and data.std are null, the
// normalisation it was trained with (one value for every channel: attune's images are
// grey). Images of another side than the checkpoint's fail (position embeddings are not
// interpolated), as do per-channel means that differ, unless data.mean/std are set.
models::VitCheckpoint apply_init(nlohmann::json& config, const std::string& source, int64_t image_side,
                                 std::ostream& log);
// What apply_init writes, for a checkpoint already read (attune convert --from-hf); errors
// name `key`.
void write_init_settings(nlohmann::json& config, const models::VitCheckpoint& ck, const std::string& source,
                         const std::string& key, std::ostream& log);

}  // namespace attune::image_classification
