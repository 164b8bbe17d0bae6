#include "models/vit/script_export.h"

#include "models/bert/script_export.h"

#include <string>
#include <vector>

namespace attune::models {

torch::jit::Module script_vit(VisionTransformerImpl& model, script::ClassNames& names) {
  const VisionTransformerOptions& o = model.options();
  const int64_t t = 1 + model.num_patches();
  torch::NoGradGuard no_grad;
  // What the eager forward passes every layer: undefined (nothing masked), a bool
  // (T,T) mask, or an additive float (1,H,T,T) one (a position bias, masked positions at
  // float32's lowest). The additive one goes in as the layers' bias with nothing to keep
  // out, so the script adds it to the scores exactly as attend()'s math path does.
  const torch::Tensor mask = model.extras.mask_for({}, t, torch::kCPU);
  const bool with_bias = mask.defined() && mask.is_floating_point();
  std::vector<torch::jit::Module> layers;
  for (const auto& child : model.layers->children()) {
    auto* layer = child->as<TransformerEncoderLayerImpl>();
    TORCH_CHECK(layer != nullptr, "script export: ViT encoder layer of an unknown type");
    layers.push_back(script_encoder_layer(*layer, names, with_bias));
  }
  script::ScriptModuleBuilder b(names, "VisionTransformer");
  const std::string c = std::to_string(o.channels()), size = std::to_string(o.image_size()),
                    patch = std::to_string(o.patch_size()), h = std::to_string(o.hidden_size());
  const std::string keep =
      b.tensor("keep", mask.defined() && !with_bias ? mask.view({1, 1, t, t}) : torch::ones({1, 1, 1, t}, torch::kBool),
               /*parameter=*/false);
  const std::string bias_arg = with_bias ? ", " + b.tensor("bias", mask, /*parameter=*/false) : "";
  torch::nn::Conv2dImpl& conv = *model.patch_embedding;
  std::string s =
      "def forward(self, images: Tensor) -> Tensor:\n"
      "    assert images.dim() == 4 and images.size(1) == " + c + " and images.size(2) == " + size +
      " and images.size(3) == " + size + ", \"expected images (batch, " + c + ", " + size + ", " + size + ")\"\n"
      "    B = images.size(0)\n";
  // Conv2dImpl::forward's aten::conv2d: stride = kernel = patch, no padding.
  s += "    x = torch.conv2d(images, " + b.tensor("patch_embedding_weight", conv.weight) + ", " +
       b.tensor("patch_embedding_bias", conv.bias) + ", [" + patch + ", " + patch + "], [0, 0], [1, 1], 1)"
       ".flatten(2).transpose(1, 2)\n";
  s += "    x = torch.cat([" + b.tensor("cls_token", model.cls_token) + ".expand([B, 1, " + h + "]), x], 1) + " +
       b.tensor("position_embeddings", model.position_embeddings) + "\n";
  const bool fusion = static_cast<bool>(model.extras.layer_fusion);
  if (fusion) s += "    outputs: List[Tensor] = []\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    s += "    x = " + b.submodule("layer_" + std::to_string(i), layers[i]) + ".forward(x, " + keep + bias_arg + ")\n";
    if (fusion) s += "    outputs.append(x)\n";
  }
  if (fusion) s += layer_fusion_lines(b, *model.extras.layer_fusion, "outputs", "x");
  s += "    x = " + b.layer_norm(*model.norm, "norm", "x") + "\n";
  if (o.pooling() == "cls") {
    s += "    pooled = x.select(1, 0)\n";
  } else if (o.pooling() == "mean") {
    s += "    pooled = x.narrow(1, 1, x.size(1) - 1).mean(1)\n";
  } else {
    // attention_pool() over the patch tokens, none of them padding.
    s += "    patches = x.narrow(1, 1, x.size(1) - 1)\n"
         "    scores = torch.matmul(patches, " + b.tensor("attention_query", model.attention_query) + ") / " +
         script::float_literal(o.attention_pool().temperature()) + "\n"
         "    pooled = torch.matmul(torch.softmax(scores, 1).unsqueeze(1), patches).squeeze(1)\n";
  }
  s += "    return " + b.linear(*model.head, "head", "pooled") + "\n";
  return b.build(s);
}

}  // namespace attune::models
