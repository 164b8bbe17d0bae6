#include "models/common/hf_folder.h"

#include "core/error.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::models {

HfFolderFiles hf_folder_files(const std::string& dir, const std::string& what) {
  const fs::path root(dir);
  if (!fs::is_directory(root)) fail(dir, "not a directory (expected a Hugging Face " + what + " folder)");
  HfFolderFiles files{(root / "config.json").string(), (root / "model.safetensors").string()};
  if (!fs::exists(files.config)) fail(dir, "no config.json (not a Hugging Face checkpoint folder)");
  if (!fs::exists(files.weights)) {
    if (fs::exists(root / "model.safetensors.index.json")) fail(dir, "sharded checkpoints are not supported");
    fail(dir, "no model.safetensors (convert a pytorch_model.bin with safetensors.torch.save_file first)");
  }
  return files;
}

}  // namespace attune::models
