#include "models/attention/masks.h"

#include "core/error.h"

#include <cmath>
#include <limits>

namespace attune::models::masks {
namespace {

// (T, S) key-position offsets: key j minus query i's key position.
torch::Tensor offsets(int64_t t, int64_t s, const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const torch::Tensor q = torch::arange(t, opts).unsqueeze(1) + (s - t);
  return torch::arange(s, opts).unsqueeze(0) - q;
}

int64_t positive_int(const nlohmann::json& v, const std::string& key) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1) fail(key, "must be an integer >= 1, got " + v.dump());
  return v.get<int64_t>();
}

// A spec is an object of one key; its name and value are read with spec.begin(), not
// `const auto& [name, value] = *spec.items().begin()`: that binds to a temporary of
// nlohmann's iteration proxy, and `name` dangled once it was gone (ASan's
// stack-use-after-scope in test_models).
void check_spec(const nlohmann::json& spec, const std::string& key) {
  if (spec.is_null()) return;
  if (!spec.is_object() || spec.size() != 1) {
    fail(key, "a mask is an object with one key: causal, window, dilated, block, grid, global, all, any or not; got " +
                  spec.dump());
  }
  const std::string name = spec.begin().key();
  const nlohmann::json& value = spec.begin().value();
  const std::string at = key + "." + name;
  if (name == "causal") {
    if (!value.is_boolean() || !value.get<bool>()) fail(at, "must be true");
  } else if (name == "window" || name == "block") {
    positive_int(value, at);
  } else if (name == "dilated") {
    if (!value.is_object() || !value.contains("width") || !value.contains("dilation") || value.size() != 2) {
      fail(at, "must be {\"width\": W, \"dilation\": D}");
    }
    positive_int(value["width"], at + ".width");
    positive_int(value["dilation"], at + ".dilation");
  } else if (name == "grid") {
    if (!value.is_object() || !value.contains("side") || !value.contains("radius")) {
      fail(at, "must be {\"side\": N, \"radius\": R, \"offset\": K} (offset optional, default 0)");
    }
    for (const auto& item : value.items()) {
      if (item.key() != "side" && item.key() != "radius" && item.key() != "offset") {
        fail(at + "." + item.key(), "unknown key (known: side, radius, offset)");
      }
    }
    positive_int(value["side"], at + ".side");
    if (!value["radius"].is_number_integer() || value["radius"].get<int64_t>() < 0) {
      fail(at + ".radius", "must be an integer >= 0, got " + value["radius"].dump());
    }
    if (value.contains("offset") && (!value["offset"].is_number_integer() || value["offset"].get<int64_t>() < 0)) {
      fail(at + ".offset", "must be an integer >= 0, got " + value["offset"].dump());
    }
  } else if (name == "global") {
    if (!value.is_array() || value.empty()) fail(at, "must be a non-empty list of positions");
    for (const auto& p : value)
      if (!p.is_number_integer() || p.get<int64_t>() < 0) fail(at, "positions must be integers >= 0, got " + p.dump());
  } else if (name == "all" || name == "any") {
    if (!value.is_array() || value.empty()) fail(at, "must be a non-empty list of masks");
    for (size_t i = 0; i < value.size(); ++i) check_spec(value[i], at + "[" + std::to_string(i) + "]");
  } else if (name == "not") {
    check_spec(value, at);
  } else {
    fail(key, "unknown mask '" + name + "' (known: causal, window, dilated, block, grid, global, all, any, not)");
  }
}

torch::Tensor build_spec(const nlohmann::json& spec, int64_t t, int64_t s, const torch::Device& device) {
  const std::string name = spec.begin().key();
  const nlohmann::json& value = spec.begin().value();
  if (name == "causal") return causal(t, s, device);
  if (name == "window") return sliding_window(t, s, value.get<int64_t>(), device);
  if (name == "block") return block_local(t, s, value.get<int64_t>(), device);
  if (name == "dilated") return dilated_window(t, s, value["width"].get<int64_t>(), value["dilation"].get<int64_t>(), device);
  if (name == "global") return global_tokens(t, s, value.get<std::vector<int64_t>>(), device);
  if (name == "grid") {
    return grid_window(t, s, value["side"].get<int64_t>(), value["radius"].get<int64_t>(), value.value("offset", int64_t{0}),
                       device);
  }
  if (name == "not") return build_spec(value, t, s, device).logical_not();
  torch::Tensor out = build_spec(value[0], t, s, device);
  for (size_t i = 1; i < value.size(); ++i) {
    const torch::Tensor next = build_spec(value[i], t, s, device);
    out = name == "all" ? out.logical_and(next) : out.logical_or(next);
  }
  return out;
}

}  // namespace

torch::Tensor causal(int64_t t, int64_t s, const torch::Device& device) { return offsets(t, s, device).le(0); }

torch::Tensor sliding_window(int64_t t, int64_t s, int64_t width, const torch::Device& device) {
  return offsets(t, s, device).abs().le(width);
}

torch::Tensor dilated_window(int64_t t, int64_t s, int64_t width, int64_t dilation, const torch::Device& device) {
  const torch::Tensor d = offsets(t, s, device).abs();
  return d.le(width * dilation).logical_and(d.remainder(dilation).eq(0));
}

torch::Tensor block_local(int64_t t, int64_t s, int64_t block, const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const torch::Tensor q = (torch::arange(t, opts) + (s - t)).div(block, "floor").unsqueeze(1);
  return q.eq(torch::arange(s, opts).div(block, "floor").unsqueeze(0));
}

torch::Tensor grid_window(int64_t t, int64_t s, int64_t side, int64_t radius, int64_t offset,
                          const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  // Row and column of each position on the grid; -1 (never within reach) off the grid.
  auto cells = [&](const torch::Tensor& position) {
    const torch::Tensor cell = position - offset;
    const torch::Tensor on = cell.ge(0).logical_and(cell.lt(side * side));
    return std::make_pair(on, cell.clamp_min(0));
  };
  const auto [q_on, q_cell] = cells(torch::arange(t, opts) + (s - t));
  const auto [k_on, k_cell] = cells(torch::arange(s, opts));
  const torch::Tensor dr = (q_cell.div(side, "floor").unsqueeze(1) - k_cell.div(side, "floor").unsqueeze(0)).abs();
  const torch::Tensor dc = (q_cell.remainder(side).unsqueeze(1) - k_cell.remainder(side).unsqueeze(0)).abs();
  return dr.le(radius).logical_and(dc.le(radius)).logical_and(q_on.unsqueeze(1)).logical_and(k_on.unsqueeze(0));
}

torch::Tensor global_tokens(int64_t t, int64_t s, const std::vector<int64_t>& positions, const torch::Device& device) {
  // Built on the device from scalars: no host-to-device copy, which a CUDA graph capture forbids.
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const torch::Tensor key = torch::arange(s, opts), query = torch::arange(t, opts) + (s - t);
  torch::Tensor rows = torch::zeros({t}, opts.dtype(torch::kBool)), cols = torch::zeros({s}, opts.dtype(torch::kBool));
  for (int64_t p : positions) {
    cols = cols.logical_or(key.eq(p));
    rows = rows.logical_or(query.eq(p));
  }
  return rows.unsqueeze(1).logical_or(cols.unsqueeze(0));
}

torch::Tensor from_function(int64_t t, int64_t s, const std::function<bool(int64_t, int64_t)>& allowed) {
  torch::Tensor out = torch::zeros({t, s}, torch::kBool);
  auto a = out.accessor<bool, 2>();
  for (int64_t i = 0; i < t; ++i)
    for (int64_t j = 0; j < s; ++j) a[i][j] = allowed(i + (s - t), j);
  return out;
}

MaskSpec::MaskSpec(const nlohmann::json& spec, const std::string& key) : spec_(spec) { check_spec(spec, key); }

torch::Tensor MaskSpec::build(int64_t t, int64_t s, const torch::Device& device) const {
  if (spec_.is_null()) return {};
  return build_spec(spec_, t, s, device);
}

std::vector<double> alibi_slopes(int64_t num_heads) {
  TORCH_CHECK(num_heads >= 1, "alibi_slopes: needs at least one head");
  int64_t closest = 1;
  while (closest * 2 <= num_heads) closest *= 2;
  auto powers = [](int64_t n) {
    std::vector<double> out;
    const double base = std::pow(2.0, -8.0 / static_cast<double>(n));
    for (int64_t i = 1; i <= n; ++i) out.push_back(std::pow(base, static_cast<double>(i)));
    return out;
  };
  std::vector<double> slopes = powers(closest);
  if (closest < num_heads) {
    const std::vector<double> extra = powers(2 * closest);
    for (int64_t i = 0; i < num_heads - closest; ++i) slopes.push_back(extra[2 * i]);
  }
  return slopes;
}

torch::Tensor alibi_bias(int64_t num_heads, int64_t t, int64_t s, const torch::Device& device) {
  // One fill per head from host scalars: no host-to-device copy, which a CUDA graph capture forbids.
  const std::vector<double> slopes = alibi_slopes(num_heads);
  torch::Tensor slope = torch::empty({num_heads, 1, 1}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  for (int64_t h = 0; h < num_heads; ++h) slope[h].fill_(static_cast<float>(slopes[h]));
  return -slope * offsets(t, s, device).abs().to(torch::kFloat).unsqueeze(0);
}

torch::Tensor with_bias(const torch::Tensor& allowed, const torch::Tensor& bias, torch::ScalarType dtype) {
  const double lowest = dtype == torch::kDouble ? std::numeric_limits<double>::lowest()
                                                : static_cast<double>(std::numeric_limits<float>::lowest());
  torch::Tensor base = bias.defined() ? bias.to(dtype) : torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(dtype).device(allowed.device()));
  if (!allowed.defined()) return base;
  // masked_fill broadcasts the mask, not the tensor filled: add a zero of the joint shape.
  base = base + torch::zeros(allowed.sizes(), base.options());
  return base.masked_fill(allowed.logical_not(), lowest);
}

}  // namespace attune::models::masks

namespace attune::models {

RelativePositionBiasImpl::RelativePositionBiasImpl(const RelativePositionBiasOptions& options) : options_(options) {
  TORCH_CHECK(options.num_heads() >= 1 && options.max_distance() >= 1, "RelativePositionBias: bad sizes");
  bias = register_module("bias", torch::nn::Embedding(2 * options.max_distance() + 1, options.num_heads()));
  torch::NoGradGuard no_grad;
  bias->weight.zero_();  // starts as no bias at all
}

torch::Tensor RelativePositionBiasImpl::forward(int64_t t, int64_t s) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(bias->weight.device());
  const torch::Tensor q = torch::arange(t, opts).unsqueeze(1) + (s - t);
  const torch::Tensor rel = (torch::arange(s, opts).unsqueeze(0) - q).clamp(-options_.max_distance(), options_.max_distance());
  return bias->forward(rel + options_.max_distance()).permute({2, 0, 1});
}

}  // namespace attune::models
