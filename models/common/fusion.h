// Which fused paths the models take (issue 29). Each fused path has the unfused one it
// replaces as its fallback; switching one off restores that path exactly, for ablations
// (`attune bench --unfuse NAME`) and for tests that compare the two. A path starts off
// until a GPU benchmark has shown it pays (and, where it changes numerics, an accuracy
// run that it costs nothing): `attune bench --fuse NAME`, ATTUNE_FUSE.
#pragma once
#include <string>
#include <vector>

namespace attune::models {

struct Fusions {
  // Self-attention projects queries, keys and values with one GEMM on the concatenated
  // weights instead of three (where no adapter rewrites the layer input). Off by default:
  // not yet measured on a GPU, and 1.28x slower in CPU training (docs/speed-notes.md).
  bool qkv = false;
  // Under CUDA bf16 autocast, the residual stream stays bfloat16: LayerNorm returns its
  // input's bf16 (float32 statistics inside) instead of float32 (models/common/norm.h).
  // Half the bytes for every residual sum, dropout and LayerNorm, and no cast before
  // each GEMM; the sums round to bf16, as in Megatron-LM's default. Off by default:
  // not yet measured on a GPU (docs/speed-notes.md).
  bool bf16_stream = false;
};

// The process-wide setting, read on every forward; starts from the defaults changed by
// the environment's ATTUNE_FUSE and ATTUNE_UNFUSE (comma-separated names, switched on and
// off), so that any command can run an ablation.
Fusions& fusions();
// The switchable names ("qkv", "bf16_stream"), for help texts and errors.
const std::vector<std::string>& fusion_names();
// Switches the named fused path on or off; an unknown name fails naming `where`.
void set_fusion(const std::string& name, bool on, const std::string& where);

}  // namespace attune::models
