#include "models/common/hf_folder.h"

#include "core/error.h"
#include "core/files.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::models {

HfFolderFiles hf_folder_files(const std::string& dir, const std::string& what) {
  const fs::path root(dir);
  if (!fs::is_directory(root)) fail(dir, "not a directory (expected a Hugging Face " + what + " folder)");
  HfFolderFiles files{(root / "config.json").string(), (root / "model.safetensors").string()};
  if (!fs::exists(files.config)) fail(dir, "no config.json (not a Hugging Face checkpoint folder)");
  if (!fs::exists(files.weights)) {
    if (fs::exists(root / "model.safetensors.index.json")) {
      fail(dir, "sharded checkpoints (model.safetensors.index.json) are not supported; save it as one "
                "model.safetensors (save_pretrained(dir, max_shard_size=\"100GB\"))");
    }
    if (fs::exists(root / "pytorch_model.bin")) {
      fail(dir, "has pytorch_model.bin but no model.safetensors; convert it to safetensors first (in Python: "
                "model.save_pretrained(dir, safe_serialization=True))");
    }
    fail(dir, "no model.safetensors");
  }
  return files;
}

void write_hf_folder(const std::string& dir, nlohmann::json config, const formats::NamedTensors& tensors) {
  config["dtype"] = "float32";
  config["torch_dtype"] = "float32";
  formats::NamedTensors out;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat).contiguous());
  fs::create_directories(dir);
  formats::save_safetensors((fs::path(dir) / "model.safetensors").string(), out, {{"format", "pt"}});
  io::write_json_atomic((fs::path(dir) / "config.json").string(), config);
}

}  // namespace attune::models
