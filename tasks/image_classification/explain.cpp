#include "tasks/image_classification/explain.h"

#include "core/error.h"
#include "models/attention/rollout.h"
#include "tasks/classification/explain.h"
#include "tasks/classification/task.h"
#include "tasks/image_classification/task.h"

#include <cmath>

namespace attune::image_classification {
namespace {

nlohmann::json grid(const torch::Tensor& values, int64_t side) {
  return classification::matrix(values.reshape({side, side}));
}

// The row of a (T, T) attention the classifier reads, over the patches only.
torch::Tensor read_row(const torch::Tensor& attention, bool cls) {
  const torch::Tensor row = cls ? attention[0] : attention.narrow(0, 1, attention.size(0) - 1).mean(0);
  return row.narrow(0, 1, row.size(0) - 1);
}

// Black, red, yellow, white as v goes 0 -> 1 (a perceptually ordered heat scale).
torch::Tensor heat_colors(const torch::Tensor& v) {
  const torch::Tensor r = (v * 3.0).clamp(0.0, 1.0);
  const torch::Tensor g = (v * 3.0 - 1.0).clamp(0.0, 1.0);
  const torch::Tensor b = (v * 3.0 - 2.0).clamp(0.0, 1.0);
  return torch::stack({r, g, b}, -1);
}

}  // namespace

nlohmann::json explain_images(const std::string& run_dir, const torch::Tensor& images,
                              const std::vector<int64_t>& indices, int64_t layer, const std::string& device) {
  ImageRun run = load_image_run(run_dir, {}, device);
  const int64_t size = run.typed.data.image_size.value_or(0);
  if (images.dim() != 3 || images.size(1) != size || images.size(2) != size) {
    fail("--input", "images must be " + std::to_string(size) + "x" + std::to_string(size) + " as the run's, got " +
                        std::to_string(images.size(1)) + "x" + std::to_string(images.size(2)));
  }
  const int64_t side = size / run.model->options().patch_size();
  const int64_t layers = run.model->options().num_layers();
  const int64_t chosen = layer < 0 ? layers + layer : layer;
  if (chosen < 0 || chosen >= layers) {
    fail("--layer", std::to_string(layer) + " is outside the model's " + std::to_string(layers) + " layers");
  }
  const bool cls = run.model->options().pooling() == "cls";
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> weights;
  const torch::Tensor logits = run.model->forward(to_input(images, run.mean, run.std, run.model->options().channels()).to(run.device), &weights);
  const torch::Tensor probs = torch::softmax(logits.to(torch::kFloat), -1).cpu();
  const std::vector<nlohmann::json> rows = classification::prediction_rows(probs, run.names);
  nlohmann::json out = {{"layer", chosen}, {"grid", side}, {"images", nlohmann::json::array()}};
  for (int64_t i = 0; i < images.size(0); ++i) {
    std::vector<torch::Tensor> per_layer;
    for (const auto& w : weights) per_layer.push_back(w[i].cpu());
    nlohmann::json e = rows[i];
    e["index"] = indices[i];
    nlohmann::json heads = nlohmann::json::array();
    for (int64_t h = 0; h < per_layer[chosen].size(0); ++h) heads.push_back(grid(read_row(per_layer[chosen][h], cls), side));
    e["heads"] = heads;
    e["importance"] = grid(read_row(models::attention_rollout(per_layer), cls), side);
    out["images"].push_back(e);
  }
  return out;
}

torch::Tensor explanation_overlay(const torch::Tensor& images, const nlohmann::json& explanation, int64_t scale) {
  const int64_t n = images.size(0), h = images.size(1), w = images.size(2);
  const int64_t side = explanation.at("grid").get<int64_t>();
  torch::Tensor canvas = torch::zeros({2 * h * scale, n * w * scale, 3});
  namespace F = torch::nn::functional;
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor gray = F::interpolate(images[i].to(torch::kFloat).div(255.0).view({1, 1, h, w}),
                                              F::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{h * scale, w * scale})
                                                  .mode(torch::kNearest))
                                   .view({h * scale, w * scale});
    std::vector<double> values;
    for (const auto& row : explanation.at("images")[i].at("importance")) {
      for (double v : row) values.push_back(v);
    }
    torch::Tensor map = torch::tensor(values, torch::kDouble).to(torch::kFloat).view({1, 1, side, side});
    // Min-max: the map shows where the model looked more and less, even when the rollout
    // is nearly flat (as it is early in training).
    map = (map - map.min()) / (map.max() - map.min()).clamp_min(1e-12);
    map = F::interpolate(map, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{h * scale, w * scale})
                                  .mode(torch::kBilinear)
                                  .align_corners(false))
              .view({h * scale, w * scale});
    const torch::Tensor base = gray.unsqueeze(-1).expand({h * scale, w * scale, 3});
    canvas.narrow(0, 0, h * scale).narrow(1, i * w * scale, w * scale).copy_(base);
    canvas.narrow(0, h * scale, h * scale).narrow(1, i * w * scale, w * scale).copy_(0.4 * base + 0.6 * heat_colors(map));
  }
  return canvas.mul(255.0).round().clamp(0, 255).to(torch::kByte);
}

std::pair<std::string, std::vector<int64_t>> parse_image_input(const std::string& input) {
  const size_t colon = input.rfind(':');
  if (colon == std::string::npos) return {input, {0}};
  std::vector<int64_t> indices;
  std::string list = input.substr(colon + 1);
  size_t at = 0;
  while (at <= list.size()) {
    const size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 9) {
      fail("--input", "expected FILE, FILE:INDEX or FILE:I,J,...; '" + item + "' is not an image index");
    }
    indices.push_back(std::stoll(item));
    at = comma + 1;
  }
  return {input.substr(0, colon), indices};
}

}  // namespace attune::image_classification
