// timm's VisionTransformer (global_pool "token", class token, no register tokens, no layer
// scale, no qk norm, no pre-norm): attune's ViT with a fused qkv projection, which is split
// into query, key and value (rows [0, H), [H, 2H), [2H, 3H): timm reshapes qkv to (3, heads, d)).
#include "core/error.h"
#include "core/files.h"
#include "models/vit/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace attune::models {
namespace {

// timm's names for the vit_* sizes (vision_transformer.py): the head count is not in the tensors.
int64_t heads_of_architecture(const std::string& arch) {
  for (const auto& [size, heads] : std::vector<std::pair<std::string, int64_t>>{
           {"vit_tiny_", 3}, {"vit_small_", 6}, {"vit_base_", 12}, {"vit_large_", 16}, {"vit_huge_", 16}}) {
    if (arch.rfind(size, 0) == 0) return heads;
  }
  return 0;
}

struct TimmSettings {
  int64_t num_heads = 0;
  std::string global_pool = "token";
  bool class_token = true;
  std::vector<double> mean, std;
};

TimmSettings read_settings(const fs::path& file) {
  TimmSettings s;
  const fs::path args = file.parent_path() / "timm_args.json";
  const fs::path config = file.parent_path() / "config.json";
  nlohmann::json j;
  std::string path;
  if (fs::exists(args)) {
    path = args.string();
    j = io::read_json(path);
  } else if (fs::exists(config)) {
    path = config.string();
    j = io::read_json(path);
    if (j.is_object() && j.contains("model_args") && j["model_args"].is_object()) {
      const nlohmann::json model_args = j["model_args"];
      j.update(model_args);
    }
  } else {
    fail(file.string(), "no timm_args.json or config.json beside it: the head count (num_heads) is not in the tensors");
  }
  if (!j.is_object()) fail(path, "expected a JSON object");
  if (j.contains("num_heads")) {
    if (!j["num_heads"].is_number_integer() || j["num_heads"].get<int64_t>() < 1) fail(path + ": num_heads", "expected a positive integer");
    s.num_heads = j["num_heads"].get<int64_t>();
  } else {
    s.num_heads = heads_of_architecture(j.value("architecture", ""));
    if (s.num_heads == 0) fail(path + ": num_heads", "missing, and \"architecture\" is not a known vit_tiny/small/base/large/huge size");
  }
  if (j.contains("global_pool") && j["global_pool"].is_string()) s.global_pool = j["global_pool"];
  if (s.global_pool != "token") {
    fail(path + ": global_pool", "only \"token\" (class token pooling) is supported, got \"" + s.global_pool + "\"");
  }
  if (j.contains("class_token") && j["class_token"] != true) fail(path + ": class_token", "attune's ViT needs a class token");
  if (j.contains("pretrained_cfg") && j["pretrained_cfg"].is_object()) {
    const nlohmann::json& p = j["pretrained_cfg"];
    if (p.contains("mean") && p.contains("std")) {
      auto numbers = [&](const char* key) {
        std::vector<double> v;
        if (p[key].is_array()) {
          for (const auto& x : p[key]) {
            if (!x.is_number()) break;
            v.push_back(x.get<double>());
          }
        }
        if (v.empty() || v.size() != p[key].size()) {
          fail(path + ": pretrained_cfg." + key, "expected a list of numbers, got " + p[key].dump());
        }
        return v;
      };
      s.mean = numbers("mean");
      s.std = numbers("std");
      for (double x : s.std) {
        if (!(x > 0)) fail(path + ": pretrained_cfg.std", "must be positive");
      }
    }
  }
  return s;
}

}  // namespace

VitCheckpoint read_timm_vit(const std::string& source) {
  // A folder (timm's hub layout) holds its weights as model.safetensors.
  const std::string file = fs::is_directory(source) ? (fs::path(source) / "model.safetensors").string() : source;
  if (!fs::is_regular_file(file)) fail(file, "no such file (expected a timm ViT state dict in safetensors)");
  const TimmSettings settings = read_settings(fs::path(file));
  const formats::SafetensorsFile sd = formats::load_safetensors(file);
  auto tensor = [&](const std::string& name) -> torch::Tensor {
    const auto it = sd.tensors.find(name);
    if (it == sd.tensors.end()) fail(file, "tensor '" + name + "' missing (not a timm VisionTransformer with a class token)");
    if (!it->second.is_floating_point()) fail(file, "tensor '" + name + "' is not floating point");
    return it->second.to(torch::kFloat);
  };
  const torch::Tensor proj = tensor("patch_embed.proj.weight");  // (H, C, p, p)
  const torch::Tensor pos = tensor("pos_embed");                 // (1, 1 + P, H)
  if (proj.dim() != 4 || proj.size(2) != proj.size(3)) fail(file, "tensor 'patch_embed.proj.weight' is not a square patch convolution");
  const int64_t hidden = proj.size(0), patch = proj.size(2);
  if (pos.dim() != 3 || pos.size(0) != 1 || pos.size(2) != hidden) {
    fail(file, "tensor 'pos_embed' is not (1, tokens, width " + std::to_string(hidden) + ")");
  }
  const int64_t side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pos.size(1) - 1))));
  if (side * side != pos.size(1) - 1) {
    fail(file, "tensor 'pos_embed' has no class-token row plus a square grid (no_embed_class models are not supported)");
  }
  int64_t depth = 0;
  static const std::regex block(R"(blocks\.(\d+)\..*)");
  for (const auto& name : sd.names) {
    std::smatch m;
    if (std::regex_match(name, m, block)) depth = std::max<int64_t>(depth, std::stoll(m[1]) + 1);
  }
  if (depth == 0) fail(file, "no 'blocks.N.*' tensors (not a timm VisionTransformer)");
  const int64_t mlp = tensor("blocks.0.mlp.fc1.weight").size(0);
  const bool has_head = sd.tensors.count("head.weight") > 0;
  VitCheckpoint ck;
  ck.options = VisionTransformerOptions(side * patch, patch, has_head ? tensor("head.weight").size(0) : 0)
                   .channels(proj.size(1))
                   .hidden_size(hidden)
                   .num_layers(depth)
                   .num_heads(settings.num_heads)
                   .mlp_size(mlp)
                   .layer_norm_eps(1e-6)  // timm's partial(nn.LayerNorm, eps=1e-6)
                   .pooling("cls");
  if (hidden % settings.num_heads != 0) fail(file, "num_heads " + std::to_string(settings.num_heads) + " does not divide the width " + std::to_string(hidden));
  ck.image_mean = settings.mean;
  ck.image_std = settings.std;
  std::set<std::string> used;
  ck.file = file;
  auto put = [&](const std::string& to, const std::string& from) {
    ck.tensors.names.push_back(to);
    ck.tensors.tensors[to] = tensor(from);
    ck.origin[to] = from;
    used.insert(from);
  };
  put("patch_embedding.weight", "patch_embed.proj.weight");
  put("patch_embedding.bias", "patch_embed.proj.bias");
  put("cls_token", "cls_token");
  put("position_embeddings", "pos_embed");
  for (int64_t l = 0; l < depth; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".", a = "layers." + std::to_string(l) + ".";
    const torch::Tensor qkv = tensor(b + "attn.qkv.weight");
    if (qkv.size(0) != 3 * hidden) fail(file, "tensor '" + b + "attn.qkv.weight' is not (3 * width, width)");
    const bool bias = sd.tensors.count(b + "attn.qkv.bias") > 0;
    const torch::Tensor qkv_bias = bias ? tensor(b + "attn.qkv.bias") : torch::zeros({3 * hidden});
    used.insert(b + "attn.qkv.weight");
    used.insert(b + "attn.qkv.bias");
    const char* parts[] = {"query", "key", "value"};
    for (int64_t i = 0; i < 3; ++i) {
      const std::string n = a + "attention.self." + parts[i] + ".";
      ck.tensors.names.push_back(n + "weight");
      ck.tensors.tensors[n + "weight"] = qkv.narrow(0, i * hidden, hidden).contiguous();
      ck.tensors.names.push_back(n + "bias");
      ck.tensors.tensors[n + "bias"] = qkv_bias.narrow(0, i * hidden, hidden).contiguous();
      ck.origin[n + "weight"] = b + "attn.qkv.weight (" + parts[i] + " rows)";
      ck.origin[n + "bias"] = b + "attn.qkv.bias (" + parts[i] + " rows)";
    }
    if (!bias && l == 0) ck.notes.push_back(file + ": no qkv bias (qkv_bias=False): q/k/v biases start at zero and are trained");
    for (const char* p : {"weight", "bias"}) {
      const std::string s = p;
      put(a + "attention.output.LayerNorm." + s, b + "norm1." + s);
      put(a + "attention.output.dense." + s, b + "attn.proj." + s);
      put(a + "output.LayerNorm." + s, b + "norm2." + s);
      put(a + "intermediate.dense." + s, b + "mlp.fc1." + s);
      put(a + "output.dense." + s, b + "mlp.fc2." + s);
    }
  }
  put("norm.weight", "norm.weight");
  put("norm.bias", "norm.bias");
  if (has_head) {
    put("head.weight", "head.weight");
    put("head.bias", "head.bias");
  }
  for (const auto& name : sd.names) {
    if (!used.count(name)) {
      fail(file, "unsupported tensor '" + name + "' (attune's ViT has no register tokens, layer scale, qk norm, "
                 "pre-norm or pooled-feature norm)");
    }
  }
  return ck;
}

}  // namespace attune::models
