#include "tasks/image_classification/augment.h"

namespace attune::image_classification {

Crops draw_crops(int64_t n, int64_t h, int64_t w, int64_t padding, bool flip, std::mt19937_64& rng,
                 const torch::Device& device) {
  if (padding == 0 && !flip) return {};
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
  torch::Tensor rows = torch::tensor(dy, longs).unsqueeze(1) + torch::arange(h, longs).unsqueeze(0);  // (N, H)
  torch::Tensor cols = torch::tensor(dx, longs).unsqueeze(1) + torch::arange(w, longs).unsqueeze(0);  // (N, W)
  // Mirroring the crop reverses its column order.
  const torch::Tensor flipped = torch::tensor(mirror, torch::kByte).to(torch::kBool).unsqueeze(1);
  cols = torch::where(flipped, cols.flip({1}), cols);
  return {rows.to(device), cols.to(device)};
}

torch::Tensor apply_crops(const torch::Tensor& images, int64_t padding, const Crops& crops) {
  if (!crops.rows.defined()) return images;
  const int64_t n = images.size(0);
  const torch::Tensor padded =
      padding > 0 ? torch::constant_pad_nd(images, {padding, padding, padding, padding}, 0) : images;
  using torch::indexing::Slice;
  const torch::Tensor batch = torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(images.device())).view({n, 1, 1});
  // Advanced indices around a slice put their broadcast shape first: (N, H, W, C).
  return padded.index({batch, Slice(), crops.rows.unsqueeze(2), crops.cols.unsqueeze(1)}).permute({0, 3, 1, 2});
}

torch::Tensor augment(const torch::Tensor& images, int64_t padding, bool flip, std::mt19937_64& rng) {
  return apply_crops(images, padding,
                     draw_crops(images.size(0), images.size(2), images.size(3), padding, flip, rng, images.device()));
}

}  // namespace attune::image_classification
