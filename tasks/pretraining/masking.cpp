#include "tasks/pretraining/masking.h"

#include <random>

namespace attune::pretraining {
namespace {

// Our own uniform draws: std:: distributions differ between standard libraries.
double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

uint64_t mix_seed(std::initializer_list<uint64_t> parts) {
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (uint64_t p : parts) {
    x += p + 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    x ^= x >> 31;
  }
  return x;
}

TokenFlags token_flags(const text::Tokenizer& tokenizer) {
  TokenFlags f;
  const int64_t n = tokenizer.vocab_size();
  f.special.assign(n, 0);
  f.continuation.assign(n, 0);
  for (int64_t id : {tokenizer.pad_id(), tokenizer.cls_id(), tokenizer.sep_id(), tokenizer.mask_id()}) {
    if (id >= 0 && id < n) f.special[id] = 1;
  }
  const bool wordpiece = tokenizer.kind() == "wordpiece";
  for (int64_t id = 0; id < n; ++id) {
    if (f.special[id]) continue;
    const std::string t = tokenizer.id_to_token(id);
    f.continuation[id] = wordpiece ? t.rfind("##", 0) == 0 : t.rfind("\xE2\x96\x81", 0) != 0;
  }
  f.mask_id = tokenizer.mask_id();
  return f;
}

MaskedBatch mask_tokens(const torch::Tensor& ids_in, const std::vector<uint64_t>& row_seeds, const TokenFlags& flags,
                        const MaskingOptions& options) {
  TORCH_CHECK(ids_in.dim() == 2 && ids_in.scalar_type() == torch::kLong, "mask_tokens: ids must be int64 (B,T)");
  TORCH_CHECK(static_cast<int64_t>(row_seeds.size()) == ids_in.size(0), "mask_tokens: one seed per row");
  const torch::Tensor ids = ids_in.cpu().contiguous();
  MaskedBatch out{ids.clone(), torch::full_like(ids, kIgnoreLabel)};
  const int64_t rows = ids.size(0), cols = ids.size(1), vocab = flags.vocab_size();
  const int64_t* src = ids.data_ptr<int64_t>();
  int64_t* dst = out.input_ids.data_ptr<int64_t>();
  int64_t* labels = out.labels.data_ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    std::mt19937_64 rng(row_seeds[r]);
    bool word_selected = false;
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = r * cols + c;
      const int64_t id = src[i];
      TORCH_CHECK(id >= 0 && id < vocab, "mask_tokens: token id ", id, " outside the vocabulary");
      // One draw per position whatever happens, so a row's draws do not shift with its content.
      const double select = uniform(rng), action = uniform(rng);
      const uint64_t random_token = rng();
      if (flags.special[id]) {
        word_selected = false;
        continue;
      }
      // A continuation follows its word's decision; a word start (or any piece without
      // whole-word masking) decides for itself.
      const bool selected =
          options.whole_word() && flags.continuation[id] && c > 0 && !flags.special[src[i - 1]] ? word_selected
                                                                                                : select < options.probability();
      word_selected = selected;
      if (!selected) continue;
      labels[i] = id;
      if (action < 0.8) {
        dst[i] = flags.mask_id;
      } else if (action < 0.9) {
        dst[i] = static_cast<int64_t>(random_token % static_cast<uint64_t>(vocab));
      }
    }
  }
  return out;
}

}  // namespace attune::pretraining
