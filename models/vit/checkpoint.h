// Pretrained Vision Transformers from outside attune, read into the tensor names of
// models::VisionTransformer: Hugging Face's ViTModel / ViTForImageClassification folders
// (hf_checkpoint.cpp) and timm's `vit_*` state dicts (timm_checkpoint.cpp). Both compute
// what attune's pre-LN ViT computes (exact GELU, class token, learned position embeddings,
// biased q/k/v); what they can do and attune's ViT cannot is refused, one line naming the
// file and key or tensor.
#pragma once
#include "data/formats/safetensors.h"
#include "models/vit/vit.h"

#include <map>
#include <string>
#include <vector>

namespace attune::models {

struct VitCheckpoint {
  // num_classes: the head's classes, 0 when the file has no head (ViTModel).
  VisionTransformerOptions options{1, 1, 0};
  // attune's names (VisionTransformer's named_parameters), "head.*" only with a head, float32.
  formats::SafetensorsFile tensors;
  std::vector<std::string> labels;  // id2label in id order (HF classifiers), else empty
  // The normalisation the model was trained with, one value per channel (HF:
  // preprocessor_config.json or ViTImageProcessor's 0.5 defaults; timm: config.json's
  // pretrained_cfg); empty when the files do not say.
  std::vector<double> image_mean, image_std;
  std::vector<std::string> notes;  // tensors left out on purpose, one line each
  // Where each tensor came from, so that a shape the config does not predict is reported
  // under the file's own name: the weights file, and attune name -> the file's name.
  std::string file;
  std::map<std::string, std::string> origin;
};

// dir: config.json (model_type "vit"), model.safetensors, optionally preprocessor_config.json.
VitCheckpoint read_hf_vit(const std::string& dir);

// file: a timm VisionTransformer's state dict as safetensors. The shapes give every size
// but the head count, which comes from timm_args.json beside the file ({"num_heads": N},
// the constructor's arguments) or from config.json's "architecture" (as timm's hub
// folders write it: vit_tiny/small/base/large/huge_*). A folder means its model.safetensors.
VitCheckpoint read_timm_vit(const std::string& file);

// "hf:DIR", "timm:FILE" or "timm:DIR"; anything else fails naming `key`.
VitCheckpoint read_vit_checkpoint(const std::string& source, const std::string& key);

// Copies the checkpoint's tensors into `model`; its head is left as it is when the
// checkpoint has none or `with_head` is false. Shapes must match: a tensor whose shape
// differs from what the config (or timm's other tensors) gives fails naming the file
// and the tensor under its own name.
void load_vit_checkpoint(VisionTransformerImpl& model, const VitCheckpoint& checkpoint, const std::string& source,
                         bool with_head);

// attune's ViT tensor name -> its name in a ViTForImageClassification's model.safetensors
// ("vit.encoder.layer.0.layernorm_before.weight", "classifier.bias"); "" for a tensor
// transformers' ViT has no place for (attention switches, attention pooling's query).
std::string vit_hf_name(const std::string& name);
// A module path (or tensor name) of attune's ViT as transformers' ViTForImageClassification
// names it ("layers.0.attention.self.query" -> "vit.encoder.layer.0.attention.attention.query",
// "head" -> "classifier"), so PEFT adapter files and target_modules use its names;
// unchanged where transformers has no such module.
std::string vit_hf_path(const std::string& path);

// transformers renamed ViT's modules (huggingface/transformers#41693; transformers 5.17 has
// it): "vit.encoder.layer.0.attention.attention.query" became "vit.layers.0.attention.q_proj",
// "attention.output.dense" "attention.o_proj", "intermediate.dense" "mlp.fc1" and
// "output.dense" "mlp.fc2". Checkpoints load in either name (transformers converts old ones;
// read_hf_vit reads both), but PEFT adapter files carry the live module names of the
// transformers that made them.
enum class VitHfNames { legacy, refactored };
// vit_hf_path in the given naming.
std::string vit_hf_path(const std::string& path, VitHfNames names);

// A ViTForImageClassification folder transformers loads (config.json, model.safetensors,
// preprocessor_config.json) from attune's ViT: pre-LN, exact GELU, class-token pooling and
// no attention switches, as transformers' ViT computes; anything else fails naming the
// key. mean and std: the one-channel normalisation of the run's pixels in [0, 1], repeated
// per channel for ViTImageProcessor.
void write_hf_vit(const std::string& dir, VisionTransformerImpl& model, const std::vector<std::string>& labels,
                  double mean, double std);

}  // namespace attune::models
