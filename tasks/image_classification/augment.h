// Image augmentation for training: random crop with zero padding and horizontal flip,
// drawn from a generator the caller seeds (so a resumed run draws the same).
#pragma once
#include <torch/torch.h>

#include <random>

namespace attune::image_classification {

// images (B, C, H, W): each is padded by `padding` on every side, cropped back to H x W
// at a random offset, and mirrored left-right with probability 0.5 when flip is set.
torch::Tensor augment(const torch::Tensor& images, int64_t padding, bool flip, std::mt19937_64& rng);

}  // namespace attune::image_classification
