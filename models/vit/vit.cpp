#include "models/vit/vit.h"

#include "models/common/norm.h"
#include "models/vit/checkpoint.h"

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
  TORCH_CHECK(options.pooling() == "cls" || options.pooling() == "mean" || options.pooling() == "attention",
              "VisionTransformer: unknown pooling '", options.pooling(), "' (known: cls, mean, attention)");
  TORCH_CHECK(options.attention().context_size == 0, "VisionTransformer: images have no context input");
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.num_layers(); ++i) {
    TransformerEncoderLayer layer(TransformerEncoderLayerOptions(h, options.num_heads(), options.mlp_size())
                                      .activation("gelu")
                                      .hidden_dropout(options.dropout())
                                      .attention_dropout(options.attention_dropout())
                                      .layer_norm_eps(options.layer_norm_eps())
                                      .pre_layer_norm(true));
    layers->push_back(layer);
    layers_.push_back(layer);
  }
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(options.layer_norm_eps())));
  head = register_module("head", torch::nn::Linear(h, options.num_classes()));
  extras = EncoderAttention(options.attention(), *this, h, options.num_heads(), options.num_layers());
  if (options.pooling() == "attention") attention_query = register_parameter("attention_query", torch::zeros({h}));
  // After timm's default initialisation (init_weights_vit_timm): normal with std 0.02 for
  // every Linear weight, clamped at +-2 std where timm truncates (resamples) instead, zero
  // biases; small position and class embeddings; the patch convolution keeps PyTorch's default.
  torch::NoGradGuard no_grad;
  auto truncated_normal = [](torch::Tensor& t) { t.normal_(0.0, 0.02).clamp_(-0.04, 0.04); };
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<Linear>()) {
      truncated_normal(linear->weight);
      if (linear->bias.defined()) linear->bias.zero_();
    }
  }
  truncated_normal(head->weight);
  head->bias.zero_();
  truncated_normal(position_embeddings);
  cls_token.normal_(0.0, 1e-6);
}

std::string VisionTransformerImpl::hf_module_path(const std::string& path) const { return vit_hf_path(path); }

std::vector<std::string> VisionTransformerImpl::hf_module_names(const std::string& path) const {
  std::vector<std::string> names = {vit_hf_path(path, VitHfNames::legacy)};
  const std::string refactored = vit_hf_path(path, VitHfNames::refactored);
  if (refactored != names.front()) names.push_back(refactored);
  return names;
}

int64_t VisionTransformerImpl::num_patches() const {
  const int64_t side = options_.image_size() / options_.patch_size();
  return side * side;
}

torch::Tensor VisionTransformerImpl::encode(const torch::Tensor& images, std::vector<torch::Tensor>* weights) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options_.channels() && images.size(2) == options_.image_size() &&
                  images.size(3) == options_.image_size(),
              "VisionTransformer: expected images (B, ", options_.channels(), ", ", options_.image_size(), ", ",
              options_.image_size(), "), got ", images.sizes());
  torch::Tensor x = patch_embedding->forward(images).flatten(2).transpose(1, 2);  // (B, P, H)
  x = into_stream(torch::cat({cls_token.expand({x.size(0), 1, -1}), x}, 1) + position_embeddings);
  x = torch::dropout(x, options_.dropout(), is_training());
  return layer_norm(norm, extras.run(layers_, x, extras.mask_for({}, x.size(1), x.device()), {}, weights));
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images, std::vector<torch::Tensor>* weights) {
  const torch::Tensor x = encode(images, weights);
  torch::Tensor pooled;
  regularizer_ = torch::Tensor();
  if (options_.pooling() == "cls") {
    pooled = x.select(1, 0);
  } else if (options_.pooling() == "mean") {
    pooled = x.narrow(1, 1, x.size(1) - 1).mean(1);
  } else {
    AttentionPoolOutput pool = attention_pool(x.narrow(1, 1, x.size(1) - 1), {}, attention_query, options_.attention_pool());
    pooled = pool.pooled;
    regularizer_ = pool.regularizer;
  }
  return head->forward(pooled);
}

}  // namespace attune::models
