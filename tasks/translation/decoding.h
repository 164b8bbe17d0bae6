// Greedy and batched beam search for the Transformer encoder-decoder, both with
// incremental decoding through the decoder's key/value cache.
#pragma once
#include "models/seq2seq/transformer.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attune::translation {

struct DecodeOptions {
  int64_t beam_size = 1;        // 1 = greedy search
  double length_penalty = 1.0;  // beam: final score = sum log p / length^penalty
  // At most max_length_ratio * source tokens + max_length_extra target tokens (EOS included),
  // and never beyond the model's positions.
  double max_length_ratio = 1.5;
  int64_t max_length_extra = 10;
  bool use_cache = true;  // false re-runs the decoder over the whole prefix each step
  int64_t bos_id = 0, eos_id = 0, pad_id = 0;
};

// src_ids (B,S), padded with pad_id, on the model's device (model in eval mode).
// Returns each row's target ids without BOS and EOS.
std::vector<std::vector<int64_t>> greedy_search(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                                const DecodeOptions& options);

// Beam search over beam_size hypotheses a sentence, batched across sentences. A
// sentence stops once beam_size hypotheses have ended (early stopping), so beam 1 is
// exactly greedy search; hypotheses still open at the length limit are scored as they are.
std::vector<std::vector<int64_t>> beam_search(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                              const DecodeOptions& options);

// Greedy for beam_size 1, beam search otherwise.
std::vector<std::vector<int64_t>> generate(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                           const DecodeOptions& options);

}  // namespace attune::translation
