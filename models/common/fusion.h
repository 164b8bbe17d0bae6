// Which fused paths the models take (issue 29). Each fused path has the unfused one it
// replaces as its fallback; switching one off restores that path exactly, for ablations
// (`attune bench --unfuse NAME`, ATTUNE_UNFUSE) and for tests that compare the two. A
// path is on by default only where a GPU benchmark has shown it pays (and, where it
// changes numerics, an accuracy run that it costs nothing).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace attune::models {

struct Fusions {
  // Self-attention on CUDA projects queries, keys and values with one GEMM on the
  // concatenated weights instead of three (where no adapter rewrites the layer input):
  // 9 % off a BERT-base training step at B128/S128 on an H100 (docs/speed-notes.md).
  bool qkv = true;
  // The same on the CPU, off: 1.28x slower in CPU training there, as the concatenation
  // of the weights is redone every call (autograd holds no cache).
  bool qkv_cpu = false;
  // Under CUDA bf16 autocast, the residual stream stays bfloat16: LayerNorm returns its
  // input's bf16 (float32 statistics inside) instead of float32 (models/common/norm.h).
  // Half the bytes for every residual sum, dropout and LayerNorm, and no cast before
  // each GEMM; the sums round to bf16, as in Megatron-LM's default. 15 % off the same
  // step; the main job's test accuracy is unchanged (docs/speed-notes.md).
  bool bf16_stream = true;
};

// The process-wide setting, read on every forward; starts from the defaults changed by
// the environment's ATTUNE_FUSE and ATTUNE_UNFUSE (comma-separated names, switched on and
// off), so that any command can run an ablation.
Fusions& fusions();
// The switchable names ("qkv", "qkv_cpu", "bf16_stream"), for help texts and errors.
const std::vector<std::string>& fusion_names();
// Each name with whether its path is on now, in fusion_names() order (for run records).
std::vector<std::pair<std::string, bool>> fusion_state();
// Switches the named fused path on or off; an unknown name fails naming `where`.
void set_fusion(const std::string& name, bool on, const std::string& where);

}  // namespace attune::models
