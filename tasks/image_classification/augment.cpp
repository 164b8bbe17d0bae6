#include "tasks/image_classification/augment.h"

namespace attune::image_classification {

torch::Tensor augment(const torch::Tensor& images, int64_t padding, bool flip, std::mt19937_64& rng) {
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  if (padding == 0 && !flip) return images;
  // The draws are made on the CPU (a few per image) and the crop runs as one gather on
  // the images' device, so training on a GPU never copies images back and forth.
  std::uniform_int_distribution<int64_t> offset(0, 2 * padding);
  std::bernoulli_distribution coin(0.5);
  std::vector<int64_t> dy(n), dx(n);
  std::vector<uint8_t> mirror(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    dy[i] = offset(rng);
    dx[i] = offset(rng);
    if (flip) mirror[i] = coin(rng) ? 1 : 0;
  }
  const auto longs = torch::TensorOptions().dtype(torch::kLong);
  const torch::Device device = images.device();
  torch::Tensor rows = torch::tensor(dy, longs).unsqueeze(1) + torch::arange(h, longs).unsqueeze(0);  // (N, H)
  torch::Tensor cols = torch::tensor(dx, longs).unsqueeze(1) + torch::arange(w, longs).unsqueeze(0);  // (N, W)
  // Mirroring the crop reverses its column order.
  const torch::Tensor flipped = torch::tensor(mirror, torch::kByte).to(torch::kBool).unsqueeze(1);
  cols = torch::where(flipped, cols.flip({1}), cols);
  const torch::Tensor padded =
      padding > 0 ? torch::constant_pad_nd(images, {padding, padding, padding, padding}, 0) : images;
  using torch::indexing::Slice;
  const torch::Tensor batch = torch::arange(n, longs).view({n, 1, 1}).to(device);
  // Advanced indices around a slice put their broadcast shape first: (N, H, W, C).
  return padded.index({batch, Slice(), rows.unsqueeze(2).to(device), cols.unsqueeze(1).to(device)}).permute({0, 3, 1, 2});
}

}  // namespace attune::image_classification
