// PNG images with libpng: attune explain's overlays written, served images read.
#pragma once
#include <torch/torch.h>

#include <string>

namespace attune::formats {

// rgb: uint8 (H, W, 3), or (H, W, 1) for grey. The bytes of a PNG file.
std::string encode_png(const torch::Tensor& rgb);
// Written atomically; failures name the path.
void write_png(const std::string& path, const torch::Tensor& rgb);

// The pixels of an 8-bit PNG file as uint8 (H, W, C), C the file's own channels (1 grey,
// 2 grey + alpha, 3 RGB, 4 RGBA; palettes expanded). Bytes that are not a PNG, 16-bit
// files and images past 2^26 pixels fail naming `where`.
torch::Tensor decode_png(const std::string& bytes, const std::string& where);

}  // namespace attune::formats
