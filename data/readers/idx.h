// IDX files (the MNIST / Fashion-MNIST format): a big-endian header of type and
// dimensions, then the values. Read into a tensor of the file's shape.
#pragma once
#include <torch/torch.h>

#include <string>

namespace attune::data {

// Unsigned-byte IDX (type 0x08) of any rank as a uint8 tensor. Fails naming the file for
// a bad magic number, an unsupported type, or a size that does not match the header.
torch::Tensor read_idx(const std::string& path);
// The same from bytes already read; `name` for errors.
torch::Tensor parse_idx(const std::string& bytes, const std::string& name);

struct ImageSet {
  torch::Tensor images;  // (N, H, W) uint8
  torch::Tensor labels;  // (N) int64
};

// An images file (rank 3) and its labels file (rank 1) of the same length.
ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path);

}  // namespace attune::data
