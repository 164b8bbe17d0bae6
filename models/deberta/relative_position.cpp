#include "models/deberta/relative_position.h"

namespace attune::models {

torch::Tensor make_log_bucket_position(const torch::Tensor& relative_pos, int64_t bucket_size, int64_t max_position) {
  TORCH_CHECK(bucket_size >= 2, "make_log_bucket_position: bucket_size must be >= 2, got ", bucket_size);
  const torch::Tensor sign = torch::sign(relative_pos);
  const int64_t mid = bucket_size / 2;
  // Distances inside (-mid, mid) become mid - 1, so their log below is finite; they keep
  // their own value in the final where().
  const torch::Tensor abs_pos = torch::where(relative_pos.lt(mid).logical_and(relative_pos.gt(-mid)),
                                             torch::full({}, mid - 1, relative_pos.options()), relative_pos.abs());
  // Python evaluates (max_position - 1) / mid in double, then torch.tensor() stores it as
  // float32; the logs, the division, the multiply and the ceil all run in float32.
  const torch::Tensor log_max = torch::log(torch::full({}, static_cast<double>(max_position - 1) / static_cast<double>(mid),
                                                       relative_pos.options().dtype(torch::kFloat)));
  // int64 / int is true division into float32, as abs_pos / mid in Python.
  const torch::Tensor ratio = abs_pos / mid;
  const torch::Tensor log_pos = torch::ceil(torch::log(ratio) / log_max * (mid - 1)) + mid;
  return torch::where(abs_pos.le(mid), relative_pos.to(torch::kFloat), log_pos * sign.to(torch::kFloat));
}

torch::Tensor relative_positions_of(const torch::Tensor& distances, int64_t bucket_size, int64_t max_position) {
  if (bucket_size <= 0 || max_position <= 0) return distances;
  return make_log_bucket_position(distances, bucket_size, max_position).to(torch::kLong);
}

torch::Tensor build_relative_position(int64_t query_size, int64_t key_size, int64_t bucket_size, int64_t max_position,
                                      const torch::Device& device) {
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(device);
  const torch::Tensor rel = torch::arange(query_size, options).unsqueeze(1) - torch::arange(key_size, options).unsqueeze(0);
  return relative_positions_of(rel, bucket_size, max_position).unsqueeze(0);
}

}  // namespace attune::models
