#include "models/attention/layer_fusion.h"

#include <cmath>

namespace attune::models {

CrossLayerFusionImpl::CrossLayerFusionImpl(const CrossLayerFusionOptions& options) : options_(options) {
  TORCH_CHECK(options.hidden_size() > 0 && options.num_layers() > 0, "CrossLayerFusion: sizes must be positive");
  query = register_parameter("query", torch::zeros({options.hidden_size()}));
  // The last layer starts with half the weight and the others share the rest: the model
  // begins close to the plain one (which reads the last layer only) yet every layer gets
  // gradient from the first step.
  std::vector<float> bias(static_cast<size_t>(options.num_layers()), 0.0f);
  if (options.num_layers() > 1) bias.back() = static_cast<float>(std::log(static_cast<double>(options.num_layers() - 1)));
  layer_bias = register_parameter("layer_bias", torch::tensor(bias));
}

torch::Tensor CrossLayerFusionImpl::forward(const std::vector<torch::Tensor>& layers, torch::Tensor* weights) {
  TORCH_CHECK(static_cast<int64_t>(layers.size()) == options_.num_layers(), "CrossLayerFusion: expected ",
              options_.num_layers(), " layers, got ", layers.size());
  const torch::Tensor stacked = torch::stack(layers, 2);  // (B,T,L,H)
  const double scale = 1.0 / std::sqrt(static_cast<double>(options_.hidden_size()));
  // Scores and softmax in float32, as attention scores elsewhere under autocast.
  const torch::Tensor scores = torch::matmul(stacked.to(torch::kFloat), query) * scale + layer_bias;
  const torch::Tensor w = torch::softmax(scores, -1);  // (B,T,L)
  if (weights != nullptr) *weights = w;
  return torch::matmul(w.unsqueeze(2).to(stacked.scalar_type()), stacked).squeeze(2);
}

}  // namespace attune::models
