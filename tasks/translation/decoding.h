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
  // Whether join() works: sources can start while other rows are mid-search, so a server
  // batches continuously instead of waiting for a whole batch to end.
  virtual bool can_join() const { return false; }
  // Encodes src_ids (n,S) and appends n rows after the current ones, each with an empty
  // target; the current rows keep their targets. Throws unless can_join().
  virtual void join(const torch::Tensor& src_ids);
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

// Beam search as steps over a changing set of sentences: sentences join between steps
// (on a StepModel that can_join) and leave at the step they end, so a sentence's result
// does not wait for the rest of its batch. beam_search() runs one batch through it.
class BeamSearch {
 public:
  BeamSearch(StepModel& model, const DecodeOptions& options);
  // Starts the sentences src_ids (n,S) (padded with pad_id, on the model's device), known
  // by `ids` from then on.
  void add(const torch::Tensor& src_ids, const std::vector<int64_t>& ids);
  struct Finished {
    int64_t id;
    std::vector<int64_t> tokens;  // without BOS and EOS
  };
  // One token for every open sentence; returns the sentences that ended at this step.
  std::vector<Finished> step();
  // Sentences started and not ended.
  int64_t open() const { return static_cast<int64_t>(sentences_.size()); }

 private:
  struct Hypothesis {
    double score;  // length-normalised
    std::vector<int64_t> tokens;
  };
  struct Sentence {
    int64_t id;
    int64_t limit;          // tokens it may generate, EOS included
    int64_t generated = 0;  // tokens each of its hypotheses holds so far
    std::vector<Hypothesis> done;
  };
  StepModel* model_;  // a pointer, so a search can be replaced by a fresh one
  DecodeOptions options_;
  torch::Device device_ = torch::kCPU;
  // Sentence j owns rows j*k .. j*k+k-1 of the model's batch, k = beam_size.
  std::vector<Sentence> sentences_;
  std::vector<std::vector<int64_t>> history_;  // per row: BOS, then its tokens
  std::vector<double> scores_;                 // per row: sum of log-probabilities
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
