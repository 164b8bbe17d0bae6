// The two files every transformers checkpoint folder attune reads has: config.json and
// model.safetensors (one shard).
#pragma once
#include "data/formats/safetensors.h"

#include <nlohmann/json.hpp>

#include <string>

namespace attune::models {

struct HfFolderFiles {
  std::string config;   // dir/config.json
  std::string weights;  // dir/model.safetensors
};

// Fails naming dir when it is not a directory ("expected a Hugging Face <what> folder"),
// lacks either file, or holds a sharded or pytorch_model.bin checkpoint instead.
HfFolderFiles hf_folder_files(const std::string& dir, const std::string& what);

// Writes dir/model.safetensors (tensors as given, under the names given) and then
// dir/config.json, with the float32 dtype keys transformers 5 ("dtype") and 4.x
// ("torch_dtype") read, and the safetensors "format" metadata transformers requires.
void write_hf_folder(const std::string& dir, nlohmann::json config, const formats::NamedTensors& tensors);

}  // namespace attune::models
