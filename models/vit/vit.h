// Vision Transformer (Dosovitskiy et al.): non-overlapping patches embedded by a strided
// convolution, a class token, learned position embeddings, pre-LN Transformer encoder
// layers, a final LayerNorm and a linear head on the class token (timm's layout).
#pragma once
#include "models/attention/attention_pool.h"
#include "models/common/hf_module_paths.h"
#include "models/transformer/encoder_attention.h"
#include "models/transformer/encoder_layer.h"

#include <torch/torch.h>

#include <vector>

namespace attune::models {

struct VisionTransformerOptions {
  VisionTransformerOptions(int64_t image_size, int64_t patch_size, int64_t num_classes)
      : image_size_(image_size), patch_size_(patch_size), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, image_size);
  TORCH_ARG(int64_t, patch_size);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, hidden_size) = 192;
  TORCH_ARG(int64_t, num_layers) = 6;
  TORCH_ARG(int64_t, num_heads) = 3;
  TORCH_ARG(int64_t, mlp_size) = 768;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(double, attention_dropout) = 0.0;
  TORCH_ARG(double, layer_norm_eps) = 1e-6;  // timm's
  // "cls": the class token; "mean": the mean of the patch tokens (timm's "avg");
  // "attention": soft attention pooling over the patch tokens.
  TORCH_ARG(std::string, pooling) = "cls";
  TORCH_ARG(AttentionPoolOptions, attention_pool);
  TORCH_ARG(EncoderAttentionOptions, attention);
};

class VisionTransformerImpl : public torch::nn::Module, public HfModulePaths {
 public:
  explicit VisionTransformerImpl(const VisionTransformerOptions& options);
  // images (B, C, H, W) float -> logits (B, num_classes). weights, if given, receives each
  // layer's (B, heads, 1 + P, 1 + P) attention probabilities.
  torch::Tensor forward(const torch::Tensor& images, std::vector<torch::Tensor>* weights = nullptr);
  // The states after the final LayerNorm, (B, 1 + P, H): HF's last_hidden_state, timm's
  // forward_features.
  torch::Tensor encode(const torch::Tensor& images, std::vector<torch::Tensor>* weights = nullptr);
  int64_t num_patches() const;
  const VisionTransformerOptions& options() const { return options_; }
  // Attention pooling's entropy term of the latest forward (undefined otherwise).
  torch::Tensor regularizer() const { return regularizer_; }
  // transformers' ViTForImageClassification names (checkpoint.h's vit_hf_path), before and
  // after its refactor, so PEFT target_modules written for either ("query",
  // "vit.encoder.layer.\\d+...", "q_proj", "vit.layers.\\d+...") select the same layers.
  std::string hf_module_path(const std::string& path) const override;
  std::vector<std::string> hf_module_names(const std::string& path) const override;

  torch::nn::Conv2d patch_embedding{nullptr};
  torch::Tensor cls_token;        // (1, 1, H)
  torch::Tensor position_embeddings;  // (1, 1 + P, H)
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};
  torch::Tensor attention_query;  // (H), attention pooling only
  EncoderAttention extras;

 private:
  VisionTransformerOptions options_;
  std::vector<TransformerEncoderLayer> layers_;  // typed views of `layers`
  torch::Tensor regularizer_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace attune::models
