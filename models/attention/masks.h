// Programmable attention masks and position biases. Masks are bool (T, S) "may attend"
// tensors (keys aligned to the end of S, as attend()'s causal flag); they compose with
// logical and / or, or through a JSON spec, and go to attend() as its mask (broadcast
// over batch and heads). Biases are additive (H, T, S) and go the same way.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace attune::models::masks {

// Query i (of T) sits at key position i + (S - T).
torch::Tensor causal(int64_t t, int64_t s, const torch::Device& device = torch::kCPU);
// Keys within `width` positions of the query, on either side.
torch::Tensor sliding_window(int64_t t, int64_t s, int64_t width, const torch::Device& device = torch::kCPU);
// Keys at distances 0, d, 2d, ... up to width * d on either side (dilated window).
torch::Tensor dilated_window(int64_t t, int64_t s, int64_t width, int64_t dilation,
                             const torch::Device& device = torch::kCPU);
// Query and key in the same block of `block` positions.
torch::Tensor block_local(int64_t t, int64_t s, int64_t block, const torch::Device& device = torch::kCPU);
// Positions offset .. offset + side^2 - 1 are the cells of a side x side grid, row by row
// (image patches after `offset` leading tokens); a cell sees the cells within `radius`
// rows and columns of its own. Positions off the grid see and are seen by nothing here:
// OR it with global_tokens for class tokens.
torch::Tensor grid_window(int64_t t, int64_t s, int64_t side, int64_t radius, int64_t offset,
                          const torch::Device& device = torch::kCPU);
// The listed positions see every key and are seen by every query (rows and columns);
// OR it with a local mask. Positions outside the sequence are ignored.
torch::Tensor global_tokens(int64_t t, int64_t s, const std::vector<int64_t>& positions,
                            const torch::Device& device = torch::kCPU);
// allowed(query position, key position), both as key positions.
torch::Tensor from_function(int64_t t, int64_t s, const std::function<bool(int64_t, int64_t)>& allowed);

// A mask described in JSON, checked when parsed (errors name `key`):
//   {"causal": true} {"window": W} {"dilated": {"width": W, "dilation": D}} {"block": B}
//   {"grid": {"side": N, "radius": R, "offset": K}} {"global": [positions]} {"all": [specs]} (and) {"any": [specs]} (or) {"not": spec}
//   null: no mask (everything visible)
class MaskSpec {
 public:
  MaskSpec() = default;
  MaskSpec(const nlohmann::json& spec, const std::string& key);
  // Undefined when the spec is null.
  torch::Tensor build(int64_t t, int64_t s, const torch::Device& device = torch::kCPU) const;
  const nlohmann::json& spec() const { return spec_; }

 private:
  nlohmann::json spec_;
};

// ALiBi (Press et al.): head h adds -slope_h * |query - key|. Slopes as in the paper and
// Hugging Face's BLOOM: 2^(-8 i / n) for n a power of two, otherwise those of the nearest
// lower power of two followed by every other slope of the next one.
std::vector<double> alibi_slopes(int64_t num_heads);
torch::Tensor alibi_bias(int64_t num_heads, int64_t t, int64_t s, const torch::Device& device = torch::kCPU);

// Additive mask of a bool mask and an optional bias: the bias where allowed, the dtype's
// lowest value elsewhere (attend() takes either kind; this joins both).
torch::Tensor with_bias(const torch::Tensor& allowed, const torch::Tensor& bias, torch::ScalarType dtype = torch::kFloat);

}  // namespace attune::models::masks

namespace attune::models {

// A learned bias per head and clipped relative distance key - query in
// [-max_distance, max_distance] (Shaw et al. style, one scalar per head and distance).
struct RelativePositionBiasOptions {
  RelativePositionBiasOptions(int64_t num_heads, int64_t max_distance) : num_heads_(num_heads), max_distance_(max_distance) {}
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, max_distance);
};

class RelativePositionBiasImpl : public torch::nn::Module {
 public:
  explicit RelativePositionBiasImpl(const RelativePositionBiasOptions& options);
  // (H, T, S) additive bias; keys aligned to the end as everywhere.
  torch::Tensor forward(int64_t t, int64_t s);
  torch::nn::Embedding bias{nullptr};  // (2 * max_distance + 1, H)

 private:
  RelativePositionBiasOptions options_;
};
TORCH_MODULE(RelativePositionBias);

}  // namespace attune::models
