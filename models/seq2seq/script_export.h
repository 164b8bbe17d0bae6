// The Transformer encoder-decoder as TorchScript built from source (see
// models/export/script_module.h), for translation bundles: the encoder, and one
// decoder step over a key/value cache, so that a caller (C++ or Python) runs greedy or
// beam search itself. The script repeats attune's eval-mode forward op for op.
#pragma once
#include "models/export/script_module.h"
#include "models/seq2seq/transformer.h"

#include <torch/torch.h>

namespace attune::models {

// Methods of the module, float32 weights, any batch size and length (up to max_positions):
//   encode(src_ids: Tensor) -> Tuple[Tensor, Tensor]
//       src_ids (B,S) padded with pad_id -> memory (B,S,E), source mask (B,1,1,S) bool
//   init_cache(memory: Tensor) -> List[Tensor]
//       per decoder layer: self keys, self values (B,H,0,D, empty), cross keys, cross values
//   decode_step(tokens: Tensor, source_mask: Tensor, cache: List[Tensor]) -> Tuple[Tensor, List[Tensor]]
//       tokens (B,T): the next T target tokens (BOS first) -> logits (B,T,V) and the grown
//       cache; positions continue after the cache's length. Beam search reorders rows by
//       index_select(0, rows) on every cache tensor and on source_mask.
//   decode_rows(tokens: Tensor, positions: Tensor, source_mask: Tensor, cache: List[Tensor]) -> Tuple[Tensor, List[Tensor]]
//       tokens (R,1), one a row, at positions (R,) int64 each, for rows that started at
//       different steps (continuous batching): row r's earlier target tokens are the last
//       positions[r] columns of its self keys/values, the columns before them padding.
//       Returns logits (R,1,V) and the cache grown by one column. Rows join with their own
//       init_cache, padded to the others' lengths (self caches at the front, cross caches
//       and source_mask at the back, the mask false there).
torch::jit::Module script_seq2seq(Seq2SeqTransformerImpl& model, script::ClassNames& names);

}  // namespace attune::models
