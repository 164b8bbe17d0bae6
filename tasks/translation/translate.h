// Translating many sentences at once: sorted by length into token-budget batches,
// decoded, detokenized, and put back in input order; and scoring translations.
#pragma once
#include "data/text/translation_tokenizer.h"
#include "models/seq2seq/transformer.h"
#include "tasks/engine/eval_shard.h"
#include "tasks/translation/decoding.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::translation {

// A line's source ids: its tokenizer ids, cut to what max_positions allows, then EOS;
// none for a blank line.
std::vector<int64_t> source_ids(const text::TranslationTokenizer& tokenizer, const std::string& line,
                                int64_t max_positions, int64_t eos_id);
// Rows padded with pad_id to the longest: (rows, S) int64 on the CPU.
torch::Tensor pad_sources(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id);

// Empty (blank) lines translate to empty lines. Sources longer than the model's
// positions allow are cut. max_tokens bounds source tokens x beam a batch. bf16: autocast
// on CUDA (LibTorch 2.x), as training uses. Sharded, each rank decodes its batches and
// every rank gets all the translations.
std::vector<std::string> translate_lines(StepModel& model, const text::TranslationTokenizer& tokenizer,
                                         const std::vector<std::string>& lines, const DecodeOptions& options,
                                         int64_t max_tokens, const torch::Device& device, bool bf16 = false,
                                         const engine::EvalShard& shard = {});
// The same with attune's model (options.use_cache applies).
std::vector<std::string> translate_lines(models::Seq2SeqTransformer& model,
                                         const text::TranslationTokenizer& tokenizer,
                                         const std::vector<std::string>& lines, const DecodeOptions& options,
                                         int64_t max_tokens, const torch::Device& device, bool bf16 = false,
                                         const engine::EvalShard& shard = {});

// {"bleu", "chrf", "bleu_details": {...}, "sentences"} with sacreBLEU's defaults.
nlohmann::json score_translations(const std::vector<std::string>& hypotheses,
                                  const std::vector<std::string>& references);

}  // namespace attune::translation
