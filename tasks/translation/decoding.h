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
  bool use_cache = true;  // attune's model only: false re-runs the decoder over the whole prefix each step
  int64_t bos_id = 0, eos_id = 0, pad_id = 0;
};

// What search needs of a model: encode a batch once, then the next token's logits one
// step at a time. attune's model and an exported bundle's TorchScript both provide it,
// so both decode with the same search code.
class StepModel {
 public:
  virtual ~StepModel() = default;
  // Tokens a target may hold, BOS included.
  virtual int64_t max_positions() const = 0;
  // Encodes src_ids (B,S) and starts an empty target for each row.
  virtual void start(const torch::Tensor& src_ids) = 0;
  // Logits (rows, V) of the next token, given each row's newest target token (rows, 1):
  // BOS at the first step. The model keeps the tokens before it (in its cache).
  virtual torch::Tensor next_logits(const torch::Tensor& tokens) = 0;
  // Keeps rows `rows` (int64, on the model's device) in that order: beam search
  // expands, reorders and prunes hypotheses with it.
  virtual void select(const torch::Tensor& rows) = 0;
};

// StepModel over attune's Seq2SeqTransformer (in eval mode); use_cache false re-runs the
// decoder over the whole prefix each step.
class TransformerStepModel : public StepModel {
 public:
  TransformerStepModel(models::Seq2SeqTransformer model, bool use_cache) : model_(std::move(model)), use_cache_(use_cache) {}
  int64_t max_positions() const override { return model_->options().max_positions(); }
  void start(const torch::Tensor& src_ids) override;
  torch::Tensor next_logits(const torch::Tensor& tokens) override;
  void select(const torch::Tensor& rows) override;

 private:
  models::Seq2SeqTransformer model_;
  bool use_cache_;
  torch::Tensor prefix_;  // without the cache: every target token so far
  models::EncodedSource source_;
  models::DecoderCache cache_;
};

// src_ids (B,S), padded with pad_id, on the model's device. Returns each row's target
// ids without BOS and EOS.
std::vector<std::vector<int64_t>> greedy_search(StepModel& model, const torch::Tensor& src_ids,
                                                const DecodeOptions& options);

// Beam search over beam_size hypotheses a sentence, batched across sentences. A
// sentence stops once beam_size hypotheses have ended (early stopping), so beam 1 is
// exactly greedy search; hypotheses still open at the length limit are scored as they are.
std::vector<std::vector<int64_t>> beam_search(StepModel& model, const torch::Tensor& src_ids,
                                              const DecodeOptions& options);

// Greedy for beam_size 1, beam search otherwise.
std::vector<std::vector<int64_t>> generate(StepModel& model, const torch::Tensor& src_ids, const DecodeOptions& options);

// The same over attune's model (in eval mode), with options.use_cache.
std::vector<std::vector<int64_t>> greedy_search(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                                const DecodeOptions& options);
std::vector<std::vector<int64_t>> beam_search(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                              const DecodeOptions& options);
std::vector<std::vector<int64_t>> generate(models::Seq2SeqTransformer& model, const torch::Tensor& src_ids,
                                           const DecodeOptions& options);

}  // namespace attune::translation
