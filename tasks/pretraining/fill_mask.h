// Fill-mask, shared by `attune predict` on a run and on a bundle and by `attune serve`:
// texts with "[MASK]" to token ids, and each mask's best candidates from the logits.
#pragma once
#include "data/text/tokenizer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace attune::pretraining {

// What a text names a masked position with, whatever the tokenizer; the tokenizer's own
// mask token (RoBERTa's "<mask>") is read as one too.
inline constexpr const char* kMaskToken = "[MASK]";
// Candidates per mask in predict's output.
inline constexpr int64_t kFillMaskCandidates = 5;

struct MaskedText {
  std::vector<int64_t> ids;    // [CLS] pieces [SEP], each "[MASK]" one mask_id
  std::vector<int64_t> masks;  // positions of the masks in ids, in order
};

// The text around each "[MASK]" (or the tokenizer's own mask token) is tokenized on its
// own, so the mask stays one token.
// Longer than max_length fails naming `where`.
MaskedText encode_masked(const std::string& text, const text::Tokenizer& tokenizer, int64_t max_length,
                         const std::string& where);

// Logits (masks, vocab) -> one list per mask (embedding rows past the tokenizer's
// vocabulary, which some checkpoints pad their tables with, are not candidates) of the top candidates {"token", "score"}
// (softmax probability), best first; with_ids adds each candidate's "id".
nlohmann::json mask_candidates(const torch::Tensor& logits, const text::Tokenizer& tokenizer, bool with_ids = false);

// The model's logits (N, vocab) at positions (N) of one sequence ids (1, T).
using MaskLogits = std::function<torch::Tensor(const torch::Tensor& ids, const torch::Tensor& positions)>;

// predict's loop: one {"text", "masks": [[candidates]...]} line per input line (a line
// without a mask gets "masks": []). One line a forward pass: lines differ in length and
// mask count, and unpadded rows give the same numbers from a run and from its bundle.
void fill_mask_lines(std::istream& in, const std::string& input_name, std::ostream& out,
                     const text::Tokenizer& tokenizer, int64_t max_length, const MaskLogits& logits);

}  // namespace attune::pretraining
