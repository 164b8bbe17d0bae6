// Feed-forward activations by their Hugging Face config names (BertConfig.hidden_act).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::models {

enum class Activation {
  kGelu,      // "gelu": exact erf GELU
  kGeluTanh,  // "gelu_new" / "gelu_pytorch_tanh": tanh approximation
  kRelu,      // "relu"
  kSilu,      // "swish" / "silu" (Marian's models)
  kTanh,      // "tanh" (BERT's pooler)
};

// Unknown names fail(where, "unknown activation 'x' (known: ...)").
Activation parse_activation(const std::string& name, const std::string& where);
const std::vector<std::string>& activation_names();
torch::Tensor apply_activation(Activation activation, const torch::Tensor& x);

}  // namespace attune::models
