#include "models/transformer/activation.h"

#include "core/config.h"
#include "core/error.h"

namespace attune::models {

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "swish", "silu", "tanh"};
  return names;
}

Activation parse_activation(const std::string& name, const std::string& where) {
  if (name == "gelu") return Activation::kGelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  if (name == "relu") return Activation::kRelu;
  if (name == "swish" || name == "silu") return Activation::kSilu;
  if (name == "tanh") return Activation::kTanh;
  fail(where, "unknown activation '" + name + "' (known: " + config::join(activation_names()) + ")");
}

torch::Tensor apply_activation(Activation activation, const torch::Tensor& x) {
  switch (activation) {
    case Activation::kGelu: return torch::gelu(x);
    case Activation::kGeluTanh: return torch::gelu(x, "tanh");
    case Activation::kRelu: return torch::relu(x);
    case Activation::kSilu: return torch::silu(x);
    case Activation::kTanh: return torch::tanh(x);
  }
  TORCH_CHECK(false, "apply_activation: invalid activation");
}

}  // namespace attune::models
