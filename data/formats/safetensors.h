// Hugging Face's safetensors format: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, "__metadata__": {...}} padded with
// spaces to a multiple of 8, then the raw little-endian tensor bytes. The reader
// validates every header field against the file before touching tensor data, so a
// corrupt or truncated file is an error message, never an out-of-bounds read.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace attune::formats {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsFile {
  std::vector<std::string> names;  // in data order
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Written atomically; tensors are copied to contiguous CPU memory first. Tensors are
// laid out in the reference writer's order, so the bytes match Hugging Face's for the
// same tensors (and metadata of at most one key: it orders keys by hash). Duplicate names and unsupported dtypes are bugs (TORCH_CHECK).
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// The serialized bytes, for writers that need them in memory.
std::string safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {});

// Maps the file and copies each tensor out into owning CPU tensors. Every header field is
// checked against the file first (see parse_safetensors).
SafetensorsFile load_safetensors(const std::string& path);
// Parses bytes already in memory; `path` names them in errors. Rejects, like the
// reference reader, anything but tensors that tile the data block exactly.
SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& path);

// A module's parameters and persistent buffers under their named_parameters() names.
NamedTensors module_tensors(const torch::nn::Module& module);
// Copies tensors into a module without recording gradients. Shape or dtype mismatches,
// missing names and (when strict) unexpected names fail naming the file and up to five tensors.
void load_module_tensors(torch::nn::Module& module, const SafetensorsFile& file, const std::string& path,
                         bool strict = true);
// Copies the file's tensors into the module tensors of the same names, leaving the
// others as they are; every tensor in the file must match one (name, shape, dtype).
void load_tensor_subset(torch::nn::Module& module, const SafetensorsFile& file, const std::string& path);

}  // namespace attune::formats
