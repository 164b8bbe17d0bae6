#include "tasks/image_classification/augment.h"

namespace attune::image_classification {

torch::Tensor augment(const torch::Tensor& images, int64_t padding, bool flip, std::mt19937_64& rng) {
  const int64_t h = images.size(2), w = images.size(3);
  const torch::Tensor padded =
      padding > 0 ? torch::constant_pad_nd(images, {padding, padding, padding, padding}, 0) : images;
  std::uniform_int_distribution<int64_t> offset(0, 2 * padding);
  std::bernoulli_distribution coin(0.5);
  std::vector<torch::Tensor> out;
  out.reserve(images.size(0));
  for (int64_t i = 0; i < images.size(0); ++i) {
    torch::Tensor crop = padded[i].narrow(1, offset(rng), h).narrow(2, offset(rng), w);
    if (flip && coin(rng)) crop = crop.flip({2});
    out.push_back(crop);
  }
  return torch::stack(out);
}

}  // namespace attune::image_classification
