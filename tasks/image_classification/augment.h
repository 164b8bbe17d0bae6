// Image augmentation for training: random crop with zero padding and horizontal flip,
// drawn from a generator the caller seeds (so a resumed run draws the same).
#pragma once
#include <torch/torch.h>

#include <random>

namespace attune::image_classification {

// The source pixel of every output pixel: rows (N, H) and columns (N, W) into the padded
// image, on `device`. Undefined when padding is 0 and flip is off (nothing to do).
struct Crops {
  torch::Tensor rows, cols;
};

// The draws are made on the host, a few per image; applying them is device work only,
// so a captured CUDA graph can replay it with new draws copied in.
Crops draw_crops(int64_t n, int64_t h, int64_t w, int64_t padding, bool flip, std::mt19937_64& rng,
                 const torch::Device& device);
torch::Tensor apply_crops(const torch::Tensor& images, int64_t padding, const Crops& crops);

// images (B, C, H, W): each is padded by `padding` on every side, cropped back to H x W
// at a random offset, and mirrored left-right with probability 0.5 when flip is set.
torch::Tensor augment(const torch::Tensor& images, int64_t padding, bool flip, std::mt19937_64& rng);

}  // namespace attune::image_classification
