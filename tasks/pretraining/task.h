// Masked-LM pretraining ("mlm") as a training task for the engine, and what a user does
// with such a run: train it, measure it on held-out text, fill in [MASK]s. From scratch it
// trains a BERT encoder with Hugging Face's BertForMaskedLM layout and its own tokenizer;
// with init=hf:DIR it continues a transformers *ForMaskedLM folder of any family attune
// imports (models/masked_lm.h), with the folder's tokenizer. Its run directory is also an
// "init" for fine-tuning tasks: config.json's model section, tokenizer/ and the
// "<model name>.*" tensors of model.safetensors are the encoder.
#pragma once
#include "models/masked_lm.h"
#include "tasks/engine/run.h"
#include "tasks/engine/task.h"
#include "tasks/pretraining/config.h"
#include "tasks/pretraining/blocks.h"
#include "tasks/pretraining/masking.h"
#include "data/text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <istream>
#include <ostream>

namespace attune::pretraining {

class MaskedLmTask : public engine::TrainTask {
 public:
  MaskedLmTask(std::shared_ptr<models::MaskedLanguageModelImpl> model, TokenBlocks train, TokenBlocks valid, TokenFlags flags,
               MaskingOptions masking, int64_t batch_size, int64_t eval_batch_size);
  std::shared_ptr<torch::nn::Module> model() override { return model_; }
  // Also remembers the epoch and seed: the engine asks for an epoch's plan before it
  // runs that epoch's batches, and the masks of those batches depend on both.
  engine::BatchPlan train_plan(int64_t epoch, uint64_t seed) override;
  torch::Tensor train_loss(const std::vector<int64_t>& batch, const torch::Device& device) override;
  int64_t batch_size_of(const std::vector<int64_t>& batch) const override;  // tokens
  nlohmann::json evaluate(const torch::Device& device, const engine::EvalShard& shard) override;

 private:
  std::shared_ptr<models::MaskedLanguageModelImpl> model_;
  TokenBlocks train_, valid_;
  TokenFlags flags_;
  MaskingOptions masking_;
  int64_t batch_size_, eval_batch_size_;
  int64_t epoch_ = 0;
  uint64_t seed_ = 0;
};

// Held-out metrics with masks that depend only on the block index (never on the run's
// seed, epoch or batch size), so numbers of different runs and checkpoints compare:
// loss (mean cross-entropy per masked token), perplexity = exp(loss), masked_accuracy.
nlohmann::json evaluate_blocks(models::MaskedLanguageModelImpl& model, const TokenBlocks& blocks,
                               const TokenFlags& flags, const MaskingOptions& masking, int64_t batch_size, const torch::Device& device,
                               const engine::EvalShard& shard = {});

// A trained run's config, tokenizer and model (eval mode, on the device).
struct LoadedMlm {
  nlohmann::json config;
  Config typed;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::shared_ptr<models::MaskedLanguageModelImpl> model;
  torch::Device device = torch::kCPU;
};
LoadedMlm load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device);

// engine::Recipe's steps: the checks that need no data, then data and model.
void check_run_config(const nlohmann::json& config);
engine::Prepared prepare_run(engine::Run& run);
// Metrics of a trained run on a text file (one paragraph per line).
nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device);
// Fill-mask: for each input line holding "[MASK]", one JSON line with the top
// predictions of every mask, in order.
void predict_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                 const std::string& device, int64_t batch_size);

}  // namespace attune::pretraining
