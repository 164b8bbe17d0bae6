#include "models/vit/checkpoint.h"

#include "core/error.h"

namespace attune::models {
namespace {

std::string vit_shape_text(c10::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

}  // namespace

VitCheckpoint read_vit_checkpoint(const std::string& source, const std::string& key) {
  if (source.rfind("hf:", 0) == 0) return read_hf_vit(source.substr(3));
  if (source.rfind("timm:", 0) == 0) return read_timm_vit(source.substr(5));
  fail(key, "expected hf:DIR (a Hugging Face ViT folder) or timm:FILE|DIR (a timm ViT state dict), got '" + source + "'");
}

void load_vit_checkpoint(VisionTransformerImpl& model, const VitCheckpoint& checkpoint, const std::string& source,
                         bool with_head) {
  formats::SafetensorsFile body;
  for (const auto& name : checkpoint.tensors.names) {
    if (!with_head && name.rfind("head.", 0) == 0) continue;
    body.names.push_back(name);
    body.tensors[name] = checkpoint.tensors.tensors.at(name);
  }
  const std::string where = checkpoint.file.empty() ? source : checkpoint.file;
  auto original = [&](const std::string& name) {
    const auto it = checkpoint.origin.find(name);
    return it == checkpoint.origin.end() ? name : it->second;
  };
  // Every body tensor must be there: only the head (and its absence) is optional.
  for (const auto& [name, t] : formats::module_tensors(model)) {
    const auto it = body.tensors.find(name);
    if (it == body.tensors.end()) {
      if (name.rfind("head.", 0) == 0) continue;
      fail(where, "no tensor for attune's '" + name + "' (the config and the tensors disagree on the layout)");
    }
    if (it->second.sizes() != t.sizes()) {
      fail(where, "tensor '" + original(name) + "' has shape " + vit_shape_text(it->second.sizes()) + ", the config implies " +
                      vit_shape_text(t.sizes()));
    }
  }
  formats::load_tensor_subset(model, body, where);
}

}  // namespace attune::models
