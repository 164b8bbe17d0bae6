// Which fused paths the models take (issue 29). Each fused path has the unfused one it
// replaces as its fallback; switching one off restores that path exactly, for ablations
// (`attune bench --unfuse NAME`) and for tests that compare the two.
#pragma once
#include <string>
#include <vector>

namespace attune::models {

struct Fusions {
  // Self-attention projects queries, keys and values with one GEMM on the concatenated
  // weights instead of three (where no adapter rewrites the layer input).
  bool qkv = true;
  // Under CUDA bf16 autocast, the residual stream stays bfloat16: LayerNorm returns its
  // input's bf16 (float32 statistics inside) instead of float32 (models/common/norm.h).
  // Half the bytes for every residual sum, dropout and LayerNorm, and no cast before
  // each GEMM; the sums round to bf16, as in Megatron-LM's default.
  bool bf16_stream = true;
};

// The process-wide setting, read on every forward; starts from the environment's
// ATTUNE_UNFUSE (comma-separated names) so that any command can run an ablation.
Fusions& fusions();
// The switchable names ("qkv", "bf16_stream"), for help texts and errors.
const std::vector<std::string>& fusion_names();
// Turns the named fused path off; an unknown name fails naming `where`.
void unfuse(const std::string& name, const std::string& where);

}  // namespace attune::models
