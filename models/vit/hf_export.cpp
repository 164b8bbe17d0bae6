// attune's ViT as transformers' ViTForImageClassification: the names of hf_checkpoint.cpp
// read backwards, the config transformers builds that model from, and the image processor
// that feeds it the pixels the run was trained on.
#include "core/error.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "models/common/hf_labels.h"
#include "models/vit/checkpoint.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::models {

void write_hf_vit(const std::string& dir, VisionTransformerImpl& model, const std::vector<std::string>& labels,
                  double mean, double std) {
  const VisionTransformerOptions& o = model.options();
  if (o.pooling() != "cls") {
    fail("model.pooling", "'" + o.pooling() + "' has no transformers counterpart (ViTForImageClassification "
                          "classifies the class token); only cls-pooled ViTs export");
  }
  const EncoderAttentionOptions& a = o.attention();
  if (!a.mask.is_null() || a.position_bias != "none" || a.layer_fusion) {
    fail("model.attention", "attention masks, position biases and layer fusion have no transformers ViT "
                            "counterpart; only plain ViTs export");
  }
  if (static_cast<int64_t>(labels.size()) != o.num_classes()) {
    fail(dir, "the run lists " + std::to_string(labels.size()) + " classes but its head has " +
                  std::to_string(o.num_classes()));
  }
  formats::NamedTensors tensors;
  for (const auto& item : model.named_parameters()) {
    const std::string hf = vit_hf_name(item.key());
    if (hf.empty()) fail(dir, "tensor '" + item.key() + "' has no place in transformers' ViT");
    tensors.emplace_back(hf, item.value().detach().to(torch::kCPU, torch::kFloat).contiguous());
  }
  nlohmann::json config = {
      {"architectures", {"ViTForImageClassification"}},
      {"model_type", "vit"},
      {"image_size", o.image_size()},
      {"patch_size", o.patch_size()},
      {"num_channels", o.channels()},
      {"hidden_size", o.hidden_size()},
      {"num_hidden_layers", o.num_layers()},
      {"num_attention_heads", o.num_heads()},
      {"intermediate_size", o.mlp_size()},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", o.dropout()},
      {"attention_probs_dropout_prob", o.attention_dropout()},
      {"layer_norm_eps", o.layer_norm_eps()},
      {"qkv_bias", true},
      {"encoder_stride", o.patch_size()},
      {"initializer_range", 0.02},
      {"problem_type", "single_label_classification"},
      // transformers 5 reads "dtype"; 4.x reads "torch_dtype".
      {"dtype", "float32"},
      {"torch_dtype", "float32"}};
  config.update(label_maps(labels));
  // ViTImageProcessor: resize to the model's size (a no-op for images of that size), 1/255,
  // then the run's normalisation in each channel.
  const nlohmann::json processor = {
      {"image_processor_type", "ViTImageProcessor"},
      {"do_resize", true},
      {"size", {{"height", o.image_size()}, {"width", o.image_size()}}},
      {"resample", 2},
      {"do_rescale", true},
      {"rescale_factor", 1.0 / 255.0},
      {"do_normalize", true},
      {"image_mean", std::vector<double>(static_cast<size_t>(o.channels()), mean)},
      {"image_std", std::vector<double>(static_cast<size_t>(o.channels()), std)}};
  fs::create_directories(dir);
  // transformers refuses safetensors whose metadata names no known framework.
  formats::save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  io::write_json_atomic((fs::path(dir) / "config.json").string(), config);
  io::write_json_atomic((fs::path(dir) / "preprocessor_config.json").string(), processor);
}

}  // namespace attune::models
