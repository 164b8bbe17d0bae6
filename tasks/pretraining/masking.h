// Masked-LM corruption as Hugging Face's DataCollatorForLanguageModeling: each
// non-special token is selected with probability p; a selected token becomes [MASK]
// (80%), a random vocabulary token (10%) or stays as it is (10%), and only selected
// positions carry a label. Whole-word masking selects words (a piece and its "##"
// continuations) instead of pieces, then decides 80/10/10 per piece, as HF's
// DataCollatorForWholeWordMask does.
//
// Every row draws from its own generator seeded by the caller (the task derives it from
// (run seed, epoch, block)), so masks do not depend on batching, thread count or device,
// and a resumed run masks exactly what the uninterrupted one did.
#pragma once
#include "data/text/tokenizer.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attune::pretraining {

constexpr int64_t kIgnoreLabel = -100;  // labels of unselected tokens (cross-entropy's ignore_index)

// Per-vocabulary facts the masking needs.
struct TokenFlags {
  std::vector<uint8_t> special;       // never selected: [PAD] [CLS] [SEP] [MASK]
  std::vector<uint8_t> continuation;  // the piece continues the previous one's word
  int64_t mask_id = 0;
  int64_t vocab_size() const { return static_cast<int64_t>(special.size()); }
};

// WordPiece continuations start with "##"; SentencePiece pieces that do NOT start a
// word lack the "\u2581" prefix.
TokenFlags token_flags(const text::Tokenizer& tokenizer);

struct MaskingOptions {
  TORCH_ARG(double, probability) = 0.15;
  TORCH_ARG(bool, whole_word) = false;
};

struct MaskedBatch {
  torch::Tensor input_ids;  // int64 (B,T), corrupted
  torch::Tensor labels;     // int64 (B,T), original id where selected, else kIgnoreLabel
};

// ids: int64 (B,T) on the CPU; row_seeds: one seed per row.
MaskedBatch mask_tokens(const torch::Tensor& ids, const std::vector<uint64_t>& row_seeds, const TokenFlags& flags,
                        const MaskingOptions& options);

// A well-mixed 64-bit seed from a few integers (SplitMix64 steps).
uint64_t mix_seed(std::initializer_list<uint64_t> parts);

}  // namespace attune::pretraining
