// Hand-made Hugging Face ViT folders and timm ViT state dicts from an attune ViT, for
// tests of models/vit/checkpoint.h and of the image task's "init".
#pragma once
#include "data/formats/safetensors.h"
#include "models/vit/vit.h"
#include "tests/common/synthetic.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <string>

namespace attune::testing {

// attune name -> transformers' ViTForImageClassification name.
inline std::string hf_vit_name(const std::string& n) {
  const std::vector<std::pair<std::string, std::string>> parts = {
      {"attention.self.", "attention.attention."}, {"attention.output.LayerNorm.", "layernorm_before."},
      {"output.LayerNorm.", "layernorm_after."}};
  if (n == "cls_token") return "vit.embeddings.cls_token";
  if (n == "position_embeddings") return "vit.embeddings.position_embeddings";
  if (n.rfind("patch_embedding.", 0) == 0) return "vit.embeddings.patch_embeddings.projection." + n.substr(16);
  if (n.rfind("norm.", 0) == 0) return "vit.layernorm." + n.substr(5);
  if (n.rfind("head.", 0) == 0) return "classifier." + n.substr(5);
  std::string rest = n.substr(7);  // "layers."
  const size_t dot = rest.find('.');
  std::string inner = rest.substr(dot + 1);
  for (const auto& [from, to] : parts) {
    if (inner.rfind(from, 0) == 0) {
      inner = to + inner.substr(from.size());
      break;
    }
  }
  return "vit.encoder.layer." + rest.substr(0, dot) + "." + inner;
}

inline void write_json(const std::string& path, const nlohmann::json& j) { std::ofstream(path) << j.dump(2); }

inline std::string write_hf_vit(models::VisionTransformer& vit, const std::string& name) {
  const std::string dir = temp_dir(name);
  formats::NamedTensors tensors;
  for (const auto& [n, t] : formats::module_tensors(*vit)) tensors.emplace_back(hf_vit_name(n), t);
  tensors.emplace_back("vit.pooler.dense.weight", torch::zeros({8, 8}));  // a ViTModel's pooler: left out
  formats::save_safetensors(dir + "/model.safetensors", tensors);
  const auto& o = vit->options();
  write_json(dir + "/config.json", {{"model_type", "vit"}, {"architectures", {"ViTForImageClassification"}},
                                    {"image_size", o.image_size()}, {"patch_size", o.patch_size()},
                                    {"num_channels", o.channels()}, {"hidden_size", o.hidden_size()},
                                    {"num_hidden_layers", o.num_layers()}, {"num_attention_heads", o.num_heads()},
                                    {"intermediate_size", o.mlp_size()}, {"hidden_act", "gelu"},
                                    {"layer_norm_eps", o.layer_norm_eps()}, {"qkv_bias", true},
                                    {"id2label", {{"0", "a"}, {"1", "b"}, {"2", "c"}}}});
  write_json(dir + "/preprocessor_config.json", {{"image_mean", {0.25, 0.25, 0.25}}, {"image_std", {0.5, 0.5, 0.5}}});
  return dir;
}

// timm's names with the fused qkv (rows q, k, v).
inline std::string write_timm_vit(models::VisionTransformer& vit, const std::string& name) {
  const std::string dir = temp_dir(name);
  const auto t = formats::module_tensors(*vit);
  std::map<std::string, torch::Tensor> m(t.begin(), t.end());
  formats::NamedTensors out = {{"cls_token", m["cls_token"]},
                               {"pos_embed", m["position_embeddings"]},
                               {"patch_embed.proj.weight", m["patch_embedding.weight"]},
                               {"patch_embed.proj.bias", m["patch_embedding.bias"]}};
  for (int64_t l = 0; l < vit->options().num_layers(); ++l) {
    const std::string a = "layers." + std::to_string(l) + ".", b = "blocks." + std::to_string(l) + ".";
    for (const std::string p : {"weight", "bias"}) {
      out.emplace_back(b + "norm1." + p, m[a + "attention.output.LayerNorm." + p]);
      out.emplace_back(b + "attn.qkv." + p, torch::cat({m[a + "attention.self.query." + p], m[a + "attention.self.key." + p],
                                                        m[a + "attention.self.value." + p]}));
      out.emplace_back(b + "attn.proj." + p, m[a + "attention.output.dense." + p]);
      out.emplace_back(b + "norm2." + p, m[a + "output.LayerNorm." + p]);
      out.emplace_back(b + "mlp.fc1." + p, m[a + "intermediate.dense." + p]);
      out.emplace_back(b + "mlp.fc2." + p, m[a + "output.dense." + p]);
    }
  }
  for (const std::string p : {"weight", "bias"}) {
    out.emplace_back("norm." + p, m["norm." + p]);
    out.emplace_back("head." + p, m["head." + p]);
  }
  formats::save_safetensors(dir + "/model.safetensors", out);
  write_json(dir + "/timm_args.json", {{"num_heads", vit->options().num_heads()}, {"global_pool", "token"}});
  return dir;
}

}  // namespace attune::testing
