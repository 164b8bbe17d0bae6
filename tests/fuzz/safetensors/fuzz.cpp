// The safetensors reader (data/formats/safetensors.h), and loading what it accepts into
// a small module, as a checkpoint is loaded.
#include "core/error.h"
#include "data/formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static torch::nn::Linear module = [] {
    torch::NoGradGuard no_grad;
    return torch::nn::Linear(torch::nn::LinearOptions(3, 2));
  }();
  try {
    const attune::formats::SafetensorsFile file = attune::formats::parse_safetensors(data, size, "fuzz.safetensors");
    for (const auto& name : file.names) {
      if (!file.tensors.count(name)) std::abort();
      (void)file.tensors.at(name).sum();  // touches every byte the tensor claims
    }
    attune::formats::load_module_tensors(*module, file, "fuzz.safetensors", false);
  } catch (const attune::UserError&) {
  }
  return 0;
}
