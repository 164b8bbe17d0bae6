// Sentence pairs as the translation model sees them: the tokenizer's ids (a joint
// SentencePiece vocabulary, or a Marian folder's), source + EOS and target (BOS/EOS added when batched), with the length
// and ratio filters applied to training data.
#pragma once
#include "data/readers/parallel.h"
#include "data/text/translation_tokenizer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attune::translation {

struct PairExamples {
  std::vector<std::vector<int32_t>> source;  // ids + EOS
  std::vector<std::vector<int32_t>> target;  // ids, without BOS/EOS
  std::vector<std::string> source_text, target_text;
  int64_t size() const { return static_cast<int64_t>(source.size()); }
  std::vector<int64_t> source_lengths() const;
  std::vector<int64_t> target_lengths() const;  // + 1 (BOS or EOS)
};

struct LengthFilter {
  int64_t max_source_tokens = 128;  // pieces, EOS excluded
  int64_t max_target_tokens = 128;
  double max_ratio = 3.0;           // (longer + 1) / (shorter + 1) in pieces
};

// Special ids: BOS starts the decoder ([CLS] of a joint vocabulary, <pad> of Marian's),
// EOS ends source and target ([SEP], </s>).
struct SpecialIds {
  int64_t pad = 0, bos = 0, eos = 0;
};
SpecialIds special_ids(const text::TranslationTokenizer& tokenizer);


// With filter=true, pairs outside `limits` are dropped and counted in *dropped; without
// it (evaluation data), every pair is kept and cut to the limits.
PairExamples tokenize_pairs(const data::ParallelText& text, const text::TranslationTokenizer& tokenizer,
                            const LengthFilter& limits, bool filter, int64_t* dropped, int64_t threads);

// A data spec of a run config: a path (TSV, or JSONL by extension, read with
// source_key/target_key) or {"source": path, "target": path} for two aligned files.
// Fails naming `key` unless spec is null, a path or {"source": path, "target": path}.
void check_parallel_spec(const nlohmann::json& spec, const std::string& key);
data::ParallelText read_parallel_spec(const nlohmann::json& spec, const std::string& key,
                                      const std::string& source_key, const std::string& target_key);

struct PairBatch {
  torch::Tensor source;        // (B,S) int64, padded
  torch::Tensor target_input;  // (B,T) BOS + target, padded
  torch::Tensor labels;        // (B,T) target + EOS, -100 at padding
  int64_t target_tokens = 0;   // real label positions
};
PairBatch collate_pairs(const PairExamples& examples, const std::vector<int64_t>& batch, const SpecialIds& ids);

}  // namespace attune::translation
