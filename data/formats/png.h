// Writes 8-bit RGB PNG images (attune explain's overlays) with libpng.
#pragma once
#include <torch/torch.h>

#include <string>

namespace attune::formats {

// rgb: uint8 (H, W, 3). The bytes of a PNG file.
std::string encode_png(const torch::Tensor& rgb);
// Written atomically; failures name the path.
void write_png(const std::string& path, const torch::Tensor& rgb);

}  // namespace attune::formats
