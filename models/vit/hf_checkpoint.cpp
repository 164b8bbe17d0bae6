// Hugging Face ViT: ViTEmbeddings (patch convolution, class token, position embeddings,
// in that order), ViTLayer (layernorm_before -> attention -> residual -> layernorm_after ->
// intermediate -> output -> residual), the final layernorm and, for the classifier, a
// linear head on the class token: attune's pre-LN ViT with other names.
#include "core/error.h"
#include "core/files.h"
#include "models/common/hf_folder.h"
#include "models/common/hf_labels.h"
#include "models/vit/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <regex>

namespace fs = std::filesystem;

namespace attune::models {
namespace {

int64_t positive_int(const nlohmann::json& config, const std::string& key, const std::string& path) {
  const auto it = config.find(key);
  if (it == config.end()) fail(path + ": " + key, "missing");
  // image_size and patch_size may be [h, w] pairs: attune's ViT needs square ones.
  if (it->is_array() && it->size() == 2 && (*it)[0] == (*it)[1]) return positive_int({{key, (*it)[0]}}, key, path);
  if (!it->is_number_integer() || it->get<int64_t>() < 1) {
    fail(path + ": " + key, "expected a positive integer (square for sizes), got " + it->dump());
  }
  return it->get<int64_t>();
}

double number_or(const nlohmann::json& config, const std::string& key, const std::string& path, double fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number()) fail(path + ": " + key, "expected a number, got " + it->dump());
  return it->get<double>();
}

// Wrong JSON types are the user's to fix: one line naming the key, not a json exception.
std::string string_or(const nlohmann::json& config, const std::string& key, const std::string& path,
                      const std::string& fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(path + ": " + key, "expected a string, got " + it->dump());
  return it->get<std::string>();
}

bool bool_or(const nlohmann::json& config, const std::string& key, const std::string& path, bool fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(path + ": " + key, "expected true or false, got " + it->dump());
  return it->get<bool>();
}

// One value, or one per channel; ViTImageProcessor's defaults are 0.5 (IMAGENET_STANDARD_*).
std::vector<double> per_channel(const nlohmann::json& p, const std::string& key, const std::string& path,
                                int64_t channels) {
  const auto it = p.find(key);
  if (it == p.end() || it->is_null()) return std::vector<double>(channels, 0.5);
  std::vector<double> v;
  if (it->is_number()) v.assign(channels, it->get<double>());
  if (it->is_array()) {
    for (const auto& x : *it) {
      if (!x.is_number()) fail(path + ": " + key, "expected numbers, got " + it->dump());
      v.push_back(x.get<double>());
    }
  }
  if (static_cast<int64_t>(v.size()) != channels) {
    fail(path + ": " + key, "expected " + std::to_string(channels) + " values (num_channels), got " + it->dump());
  }
  return v;
}

void read_processor(const fs::path& dir, int64_t channels, VitCheckpoint& ck) {
  const fs::path file = dir / "preprocessor_config.json";
  if (!fs::exists(file)) {
    ck.notes.push_back(dir.string() + ": no preprocessor_config.json; taking ViTImageProcessor's mean and std (0.5)");
    ck.image_mean.assign(channels, 0.5);
    ck.image_std.assign(channels, 0.5);
    return;
  }
  const std::string path = file.string();
  const nlohmann::json p = io::read_json(path);
  if (!p.is_object()) fail(path, "expected a JSON object");
  if (!bool_or(p, "do_rescale", path, true)) fail(path + ": do_rescale", "attune's images are rescaled by 1/255; false is not supported");
  const double rescale = number_or(p, "rescale_factor", path, 1.0 / 255.0);
  if (std::abs(rescale * 255.0 - 1.0) > 1e-6) fail(path + ": rescale_factor", "only 1/255 is supported");
  if (!bool_or(p, "do_normalize", path, true)) {
    ck.image_mean.assign(channels, 0.0);
    ck.image_std.assign(channels, 1.0);
    return;
  }
  ck.image_mean = per_channel(p, "image_mean", path, channels);
  ck.image_std = per_channel(p, "image_std", path, channels);
  for (double s : ck.image_std) {
    if (!(s > 0)) fail(path + ": image_std", "must be positive");
  }
}

}  // namespace

namespace {

// A layer's tensor prefixes: transformers' ViTLayer -> attune's encoder layer.
const std::vector<std::pair<std::string, std::string>>& layer_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"attention.attention.query.", "attention.self.query."},
      {"attention.attention.key.", "attention.self.key."},
      {"attention.attention.value.", "attention.self.value."},
      {"attention.output.dense.", "attention.output.dense."},
      {"layernorm_before.", "attention.output.LayerNorm."},  // pre-LN: see encoder_layer.cpp
      {"intermediate.dense.", "intermediate.dense."},
      {"output.dense.", "output.dense."},
      {"layernorm_after.", "output.LayerNorm."}};
  return names;
}

// The tensors outside the layers, (transformers' name without "vit.", attune's) prefixes.
const std::vector<std::pair<std::string, std::string>>& outer_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"embeddings.cls_token", "cls_token"},
      {"embeddings.position_embeddings", "position_embeddings"},
      {"embeddings.patch_embeddings.projection.", "patch_embedding."},
      {"layernorm.", "norm."}};
  return names;
}

// name with prefix `from` swapped for `to` at the front, the layer index kept; "" when
// no pair matches. from_hf picks the direction.
std::string translate(const std::string& name, bool from_hf) {
  for (const auto& [hf, ours] : outer_names()) {
    const std::string& from = from_hf ? hf : ours;
    const std::string& to = from_hf ? ours : hf;
    if (name.rfind(from, 0) == 0) return to + name.substr(from.size());
  }
  static const std::regex hf_layer(R"(encoder\.layer\.(\d+)\.(.*))"), our_layer(R"(layers\.(\d+)\.(.*))");
  std::smatch m;
  if (!std::regex_match(name, m, from_hf ? hf_layer : our_layer)) return "";
  const std::string rest = m[2];
  for (const auto& [hf, ours] : layer_names()) {
    const std::string& from = from_hf ? hf : ours;
    const std::string& to = from_hf ? ours : hf;
    if (rest.rfind(from, 0) == 0) {
      return (from_hf ? "layers." : "encoder.layer.") + std::string(m[1]) + "." + to + rest.substr(from.size());
    }
  }
  return "";
}

// Within a layer, the names of transformers' ViT before its refactor (huggingface/transformers
// #41693) and after it (transformers 5.17 has it), module paths on both sides. Containers
// come last: "attention.attention" and "attention" are both the refactored "attention".
const std::vector<std::pair<std::string, std::string>>& refactored_layer_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"attention.attention.query", "attention.q_proj"}, {"attention.attention.key", "attention.k_proj"},
      {"attention.attention.value", "attention.v_proj"}, {"attention.output.dense", "attention.o_proj"},
      {"intermediate.dense", "mlp.fc1"},                 {"output.dense", "mlp.fc2"},
      {"attention.attention", "attention"},              {"intermediate", "mlp"}};
  return names;
}

// `name` starts with `prefix` followed by the end or a '.'.
bool starts_with_module(const std::string& name, const std::string& prefix) {
  return name.rfind(prefix, 0) == 0 && (name.size() == prefix.size() || name[prefix.size()] == '.');
}

// A name under transformers' ViTModel (no "vit.") from one layout to the other; unchanged
// outside the layers. to_refactored picks the direction.
std::string relayout(const std::string& name, bool to_refactored) {
  static const std::regex legacy(R"(encoder\.layer(\.(\d+)(\.(.*))?)?)"), refactored(R"(layers(\.(\d+)(\.(.*))?)?)");
  std::smatch m;
  if (!std::regex_match(name, m, to_refactored ? legacy : refactored)) return name;
  std::string out = to_refactored ? "layers" : "encoder.layer";
  if (!m[2].matched) return out;
  out += "." + std::string(m[2]);
  if (!m[4].matched) return out;
  const std::string rest = m[4];
  for (const auto& [before, after] : refactored_layer_names()) {
    const std::string& from = to_refactored ? before : after;
    const std::string& to = to_refactored ? after : before;
    if (starts_with_module(rest, from)) return out + "." + to + rest.substr(from.size());
  }
  return out + "." + rest;
}

// HF name (without "vit.", either layout) -> attune name; "" for tensors left out.
std::string attune_name(const std::string& name) { return translate(relayout(name, false), true); }

}  // namespace

std::string vit_hf_name(const std::string& name) {
  if (name.rfind("head.", 0) == 0) return "classifier." + name.substr(5);
  const std::string hf = translate(name, false);
  return hf.empty() ? "" : "vit." + hf;
}

std::string vit_hf_path(const std::string& path, VitHfNames names) {
  const std::string legacy = vit_hf_path(path);
  if (names == VitHfNames::legacy || legacy.rfind("vit.", 0) != 0) return legacy;
  return "vit." + relayout(legacy.substr(4), true);
}

std::string vit_hf_path(const std::string& path) {
  if (path.empty()) return path;
  // Tensor names and the modules holding them, which vit_hf_name maps as prefixes.
  const std::string hf = vit_hf_name(path + ".");
  if (!hf.empty()) return hf.substr(0, hf.size() - 1);
  // Containers that hold no tensor of their own.
  static const std::regex container(R"(layers(\.(\d+)(\.(attention\.self|attention|intermediate|output))?)?)");
  std::smatch m;
  if (!std::regex_match(path, m, container)) return path;
  std::string out = "vit.encoder.layer";
  if (m[2].matched) out += "." + std::string(m[2]);
  if (m[4].matched) out += "." + (m[4] == "attention.self" ? std::string("attention.attention") : std::string(m[4]));
  return out;
}

VitCheckpoint read_hf_vit(const std::string& dir) {
  const fs::path root(dir);
  const HfFolderFiles files = hf_folder_files(dir, "ViT checkpoint");
  const std::string& config_path = files.config;
  const std::string& weights = files.weights;
  const nlohmann::json config = io::read_json(config_path);
  if (!config.is_object()) fail(config_path, "expected a JSON object");
  const std::string type = string_or(config, "model_type", config_path, "");
  if (type != "vit") fail(config_path + ": model_type", "expected \"vit\", got \"" + type + "\"");
  const std::string act = string_or(config, "hidden_act", config_path, "gelu");
  if (act != "gelu") fail(config_path + ": hidden_act", "attune's ViT uses exact GELU (\"gelu\"), got \"" + act + "\"");
  const int64_t image = positive_int(config, "image_size", config_path);
  const int64_t patch = positive_int(config, "patch_size", config_path);
  if (image % patch != 0) fail(config_path + ": patch_size", "does not divide image_size");
  const int64_t hidden = positive_int(config, "hidden_size", config_path);
  const int64_t heads = positive_int(config, "num_attention_heads", config_path);
  if (hidden % heads != 0) fail(config_path + ": num_attention_heads", "must divide hidden_size");

  VitCheckpoint ck;
  ck.file = weights;
  const formats::SafetensorsFile file = formats::load_safetensors(weights);
  const bool has_head = file.tensors.count("classifier.weight") > 0;
  ck.labels = has_head ? read_id2label(config, config_path) : std::vector<std::string>{};
  const int64_t classes = has_head ? file.tensors.at("classifier.weight").size(0) : 0;
  if (has_head && !ck.labels.empty() && static_cast<int64_t>(ck.labels.size()) != classes) {
    fail(config_path + ": id2label", "has " + std::to_string(ck.labels.size()) + " labels but the classifier " +
                                         std::to_string(classes) + " outputs");
  }
  ck.options = VisionTransformerOptions(image, patch, classes)
                   .channels(positive_int(config, "num_channels", config_path))
                   .hidden_size(hidden)
                   .num_layers(positive_int(config, "num_hidden_layers", config_path))
                   .num_heads(heads)
                   .mlp_size(positive_int(config, "intermediate_size", config_path))
                   .dropout(number_or(config, "hidden_dropout_prob", config_path, 0.0))
                   .attention_dropout(number_or(config, "attention_probs_dropout_prob", config_path, 0.0))
                   .layer_norm_eps(number_or(config, "layer_norm_eps", config_path, 1e-12))
                   .pooling("cls");
  const bool qkv_bias = bool_or(config, "qkv_bias", config_path, true);
  for (const auto& original : file.names) {
    std::string name = original;
    if (name.rfind("vit.", 0) == 0) name = name.substr(4);
    std::string target = attune_name(name);
    if (original.rfind("classifier.", 0) == 0) target = "head." + original.substr(11);
    if (target.empty()) {
      if (name.rfind("pooler.", 0) == 0 || name == "embeddings.mask_token") {
        if (name.rfind("pooler.dense.weight", 0) == 0 || name == "embeddings.mask_token") {
          ck.notes.push_back(weights + ": leaving out '" + original + "' (ViTForImageClassification does not use it)");
        }
        continue;
      }
      fail(weights, "unexpected tensor '" + original + "' (not part of ViTModel or ViTForImageClassification)");
    }
    torch::Tensor t = file.tensors.at(original);
    if (!t.is_floating_point()) fail(weights, "tensor '" + original + "' is not floating point");
    ck.tensors.names.push_back(target);
    ck.tensors.tensors[target] = t.to(torch::kFloat);
    ck.origin[target] = original;
  }
  if (!qkv_bias) {
    // No q/k/v bias is a zero bias: the same function, and attune's layers always have one.
    for (int64_t l = 0; l < ck.options.num_layers(); ++l) {
      for (const char* p : {"query", "key", "value"}) {
        const std::string n = "layers." + std::to_string(l) + ".attention.self." + p + ".bias";
        ck.tensors.names.push_back(n);
        ck.tensors.tensors[n] = torch::zeros({hidden});
      }
    }
    ck.notes.push_back(config_path + ": qkv_bias false: q/k/v biases start at zero and are trained");
  }
  read_processor(root, ck.options.channels(), ck);
  return ck;
}

}  // namespace attune::models
