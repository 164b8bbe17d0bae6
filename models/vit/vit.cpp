#include "models/vit/vit.h"

namespace attune::models {

VisionTransformerImpl::VisionTransformerImpl(const VisionTransformerOptions& options) : options_(options) {
  TORCH_CHECK(options.image_size() % options.patch_size() == 0, "VisionTransformer: image_size ", options.image_size(),
              " is not a multiple of patch_size ", options.patch_size());
  TORCH_CHECK(options.hidden_size() % options.num_heads() == 0, "VisionTransformer: num_heads must divide hidden_size");
  const int64_t h = options.hidden_size();
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(options.channels(), h, options.patch_size()).stride(options.patch_size())));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, h}));
  position_embeddings = register_parameter("position_embeddings", torch::zeros({1, 1 + num_patches(), h}));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.num_layers(); ++i) {
    layers->push_back(TransformerEncoderLayer(TransformerEncoderLayerOptions(h, options.num_heads(), options.mlp_size())
                                                  .activation("gelu")
                                                  .hidden_dropout(options.dropout())
                                                  .attention_dropout(options.attention_dropout())
                                                  .layer_norm_eps(options.layer_norm_eps())
                                                  .pre_layer_norm(true)));
  }
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(options.layer_norm_eps())));
  head = register_module("head", torch::nn::Linear(h, options.num_classes()));
  // timm's initialisation: truncated-normal-like small position and class embeddings.
  torch::NoGradGuard no_grad;
  position_embeddings.normal_(0.0, 0.02).clamp_(-0.04, 0.04);
  cls_token.normal_(0.0, 1e-6);
  head->weight.zero_();
  head->bias.zero_();
}

int64_t VisionTransformerImpl::num_patches() const {
  const int64_t side = options_.image_size() / options_.patch_size();
  return side * side;
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images, std::vector<torch::Tensor>* weights) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options_.channels() && images.size(2) == options_.image_size() &&
                  images.size(3) == options_.image_size(),
              "VisionTransformer: expected images (B, ", options_.channels(), ", ", options_.image_size(), ", ",
              options_.image_size(), "), got ", images.sizes());
  torch::Tensor x = patch_embedding->forward(images).flatten(2).transpose(1, 2);  // (B, P, H)
  x = torch::cat({cls_token.expand({x.size(0), 1, -1}), x}, 1) + position_embeddings;
  x = torch::dropout(x, options_.dropout(), is_training());
  for (const auto& layer : *layers) {
    torch::Tensor w;
    x = layer->as<TransformerEncoderLayer>()->forward(x, {}, weights ? &w : nullptr);
    if (weights) weights->push_back(w);
  }
  return head->forward(norm->forward(x).select(1, 0));
}

}  // namespace attune::models
