// The two files every transformers checkpoint folder attune reads has: config.json and
// model.safetensors (one shard).
#pragma once
#include <string>

namespace attune::models {

struct HfFolderFiles {
  std::string config;   // dir/config.json
  std::string weights;  // dir/model.safetensors
};

// Fails naming dir when it is not a directory ("expected a Hugging Face <what> folder"),
// lacks either file, or holds a sharded or pytorch_model.bin checkpoint instead.
HfFolderFiles hf_folder_files(const std::string& dir, const std::string& what);

}  // namespace attune::models
