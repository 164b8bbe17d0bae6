// The number format of an exported bundle (`attune export`, `--int8`, `--bf16`) and the
// manifest's name for it (model.dtype).
#pragma once
#include <string>

namespace attune::bundle {

enum class Precision {
  kFloat32,
  // Linear layers as int8 dynamic quantization (weights per output channel, activations per
  // batch): CPU only.
  kInt8Dynamic,
  // Every float weight and activation in bfloat16, logits returned as float32: oneDNN's
  // AVX-512 BF16 / AMX kernels on CPUs that have them (docs/benchmarks.md), and GPUs.
  kBFloat16,
};

// "float32", "int8-dynamic" or "bfloat16".
std::string precision_name(Precision precision);

}  // namespace attune::bundle
