#include "tasks/pretraining/task.h"
#include "tasks/engine/train_config.h"
#include "tasks/engine/run_dir.h"

#include "data/batching.h"
#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "data/text/factory.h"
#include "models/common/parameters.h"
#include "models/registry.h"
#include "core/config.h"
#include "tasks/pretraining/config.h"
#include "tasks/pretraining/fill_mask.h"
#include "tasks/pretraining/init.h"

#include <cmath>
#include <filesystem>
#include <optional>
#include <iostream>

namespace fs = std::filesystem;

namespace attune::pretraining {
namespace {

// Evaluation masks ignore the run's seed, so every run is measured on the same masks.
constexpr uint64_t kEvalSeed = 0x6d6c6d2d6576616cULL;

struct Scored {
  torch::Tensor logits;   // (N, vocab) of the selected positions
  torch::Tensor targets;  // (N) their original ids, on the model's device
};

Scored score_blocks(models::MaskedLanguageModelImpl& model, const TokenBlocks& blocks, const std::vector<int64_t>& batch,
                    const std::vector<uint64_t>& seeds, const TokenFlags& flags, const MaskingOptions& masking,
                    const torch::Device& device) {
  const MaskedBatch masked = mask_tokens(blocks.ids(batch), seeds, flags, masking);
  const torch::Tensor flat = masked.labels.flatten();
  const torch::Tensor positions = (flat != kIgnoreLabel).nonzero().squeeze(1);
  Scored s;
  s.targets = flat.index_select(0, positions).to(device);
  // Only the selected rows go through the vocabulary projection: it dominates the cost.
  s.logits = model.logits(masked.input_ids.to(device), {}, blocks.attention_mask(batch).to(device),
                           positions.to(device));
  return s;
}

// A zero loss on the head's output bias (whichever family), so that a batch without a
// selected token steps without touching any other weight's optimizer state.
torch::Tensor zero_loss(models::MaskedLanguageModelImpl& model) {
  const auto params = model.named_parameters();
  for (const char* name : {"cls.predictions.bias", "lm_predictions.lm_head.bias", "decoder.bias"}) {
    if (const torch::Tensor* bias = params.find(name)) return bias->sum() * 0.0;
  }
  return params.values().front().sum() * 0.0;
}

std::shared_ptr<models::MaskedLanguageModelImpl> build_model(const nlohmann::json& model, int64_t vocab_size) {
  return models::make_masked_lm(model, vocab_size, "model");
}

// Every k-th line, so a vocabulary can be learned from a large corpus in seconds.
std::vector<std::string> sample_lines(const std::vector<std::string>& lines, int64_t limit) {
  if (limit <= 0 || static_cast<int64_t>(lines.size()) <= limit) return lines;
  std::vector<std::string> out;
  out.reserve(limit);
  for (int64_t i = 0; i < limit; ++i) out.push_back(lines[i * static_cast<int64_t>(lines.size()) / limit]);
  return out;
}

std::vector<std::string> split_off_valid(std::vector<std::string>& train, double fraction, uint64_t seed,
                                         const std::string& train_path) {
  const int64_t n = static_cast<int64_t>(train.size());
  const std::vector<char> held = data::held_out_mask(n, fraction, seed);
  if (held.empty()) {
    fail("data.valid", "no valid file given and data.valid_fraction leaves no held-out or no training lines of " +
                           train_path + " (" + std::to_string(n) + " lines)");
  }
  std::vector<std::string> kept, valid;
  for (int64_t i = 0; i < n; ++i) (held[i] ? valid : kept).push_back(std::move(train[i]));
  train = std::move(kept);
  return valid;
}

}  // namespace

MaskedLmTask::MaskedLmTask(std::shared_ptr<models::MaskedLanguageModelImpl> model, TokenBlocks train,
                           TokenBlocks valid, TokenFlags flags, MaskingOptions masking, int64_t batch_size, int64_t eval_batch_size)
    : model_(std::move(model)),
      train_(std::move(train)),
      valid_(std::move(valid)),
      flags_(std::move(flags)),
      masking_(masking),
      batch_size_(batch_size),
      eval_batch_size_(eval_batch_size) {}

engine::BatchPlan MaskedLmTask::train_plan(int64_t epoch, uint64_t seed) {
  epoch_ = epoch;
  seed_ = seed;
  return data::make_batches(train_.lengths(), batch_size_, /*shuffle=*/true, /*bucket=*/false,
                            seed * 1000003ULL + static_cast<uint64_t>(epoch));
}

torch::Tensor MaskedLmTask::train_loss(const std::vector<int64_t>& batch, const torch::Device& device) {
  std::vector<uint64_t> seeds;
  for (int64_t b : batch) seeds.push_back(mix_seed({seed_, static_cast<uint64_t>(epoch_), static_cast<uint64_t>(b)}));
  const Scored s = score_blocks(*model_, train_, batch, seeds, flags_, masking_, device);
  // A batch without a selected token (tiny blocks, tiny probabilities) still steps, with no gradient.
  if (s.targets.numel() == 0) return zero_loss(*model_);
  return torch::nn::functional::cross_entropy(s.logits.to(torch::kFloat), s.targets);
}

int64_t MaskedLmTask::batch_size_of(const std::vector<int64_t>& batch) const {
  int64_t tokens = 0;
  for (int64_t b : batch) tokens += train_.length(b);
  return tokens;
}

nlohmann::json MaskedLmTask::evaluate(const torch::Device& device, const engine::EvalShard& shard) {
  return evaluate_blocks(*model_, valid_, flags_, masking_, eval_batch_size_, device, shard);
}

nlohmann::json evaluate_blocks(models::MaskedLanguageModelImpl& model, const TokenBlocks& blocks,
                               const TokenFlags& flags, const MaskingOptions& masking, int64_t batch_size, const torch::Device& device,
                               const engine::EvalShard& shard) {
  torch::NoGradGuard no_grad;
  // Per batch: the summed loss of its masked tokens, how many it got right, and how many.
  const int64_t batches = (blocks.size() + batch_size - 1) / batch_size;
  engine::PerBatchSums sums(batches, 3, device);
  for (int64_t begin = 0; begin < blocks.size(); begin += batch_size) {
    if (!shard.owns(begin / batch_size)) continue;
    std::vector<int64_t> batch;
    std::vector<uint64_t> seeds;
    for (int64_t b = begin; b < std::min(blocks.size(), begin + batch_size); ++b) {
      batch.push_back(b);
      seeds.push_back(mix_seed({kEvalSeed, static_cast<uint64_t>(b)}));
    }
    const Scored s = score_blocks(model, blocks, batch, seeds, flags, masking, device);
    if (s.targets.numel() == 0) continue;
    const torch::Tensor logits = s.logits.to(torch::kFloat);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits, s.targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    sums.set(begin / batch_size, torch::stack({loss.to(torch::kDouble), (logits.argmax(1) == s.targets).sum().to(torch::kDouble),
                                               torch::tensor(static_cast<double>(s.targets.numel()), torch::kDouble).to(device)}));
  }
  const std::vector<double> total = sums.total(shard);
  const auto tokens = static_cast<int64_t>(total[2]);
  if (tokens == 0) fail("data.valid", "no token was selected for masking in the held-out text (too little text)");
  const double loss = total[0] / tokens;
  return {{"loss", loss},
          {"perplexity", std::exp(loss)},
          {"masked_accuracy", total[1] / tokens},
          {"masked_tokens", tokens},
          {"blocks", blocks.size()}};
}

void check_run_config(const nlohmann::json& config) {
  const Config c = parse_config(config);
  if (c.data.train.empty()) fail("data.train", "no training text given (set data.train: one paragraph per line)");
}

engine::Prepared prepare_run(engine::Run& run) {
  nlohmann::json& config = run.config();
  const Config c = parse_config(config);
  const engine::TrainOptions& options = run.options();
  const int64_t threads = c.run.threads;
  std::ostream& log = run.log();
  const std::string& train_path = c.data.train;
  const std::string& valid_path = c.data.valid;
  const MaskingOptions masking = masking_options(c.mlm);
  const int64_t max_length = c.mlm.max_length;
  const auto& tok = c.tokenizer;
  // A resumed run rebuilds its model from the saved section and its checkpoint.
  std::optional<MlmInit> init;
  if (!c.init.empty() && !run.resuming()) {
    init = load_mlm_init(c.init, log);
    if (max_length > init->max_length) {
      fail("mlm.max_length", std::to_string(max_length) + " exceeds the " + std::to_string(init->max_length) +
                                 " tokens the model of " + c.init + " takes");
    }
    log << "init: " << init->architecture << " with its tokenizer from " << c.init << "\n";
  }
  std::vector<std::string> train_lines = read_lines(train_path);
  std::vector<std::string> valid_lines = valid_path.empty()
                                             ? split_off_valid(train_lines, c.data.valid_fraction, options.seed, train_path)
                                             : read_lines(valid_path);

  const std::string tokenizer_dir = run.dir().tokenizer();
  std::unique_ptr<text::Tokenizer> tokenizer;
  if (run.resuming()) {
    tokenizer = text::load_tokenizer(tokenizer_dir);
  } else if (init) {
    tokenizer = std::move(init->tokenizer);
    tokenizer->save(tokenizer_dir);
  } else {
    log << "tokenizer: " << tok.type << " from " << train_path << "\n";
    tokenizer = text::make_tokenizer(tok, sample_lines(train_lines, tok.training_lines), tokenizer_dir);
    tokenizer->save(tokenizer_dir);
  }
  TokenBlocks train(train_lines, *tokenizer, max_length, threads);
  TokenBlocks valid(valid_lines, *tokenizer, max_length, threads);
  std::vector<std::string>().swap(train_lines);

  torch::manual_seed(options.seed);
  std::shared_ptr<models::MaskedLanguageModelImpl> model =
      build_model(init ? init->model_section : c.model, tokenizer->vocab_size());
  if (init) formats::load_module_tensors(*model, init->weights, c.init);
  model->to(options.device);
  if (!run.resuming()) {
    // The saved config rebuilds exactly this model, and is what "init" hands to fine-tuning.
    config["model"] = model->encoder().config();
    run.save_config();
  }
  const int64_t params = models::parameter_count(*model);
  log << "data: " << train.size() << " train / " << valid.size() << " valid blocks of " << max_length << " ("
      << train.tokens() << " / " << valid.tokens() << " tokens); model: " << params << " parameters on "
      << options.device << "\n";

  engine::Prepared prepared;
  prepared.trainer = std::make_unique<MaskedLmTask>(model, std::move(train), std::move(valid), token_flags(*tokenizer),
                                                    masking, c.train.batch_size, c.train.eval_batch_size);
  return prepared;
}

LoadedMlm load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device) {
  LoadedMlm run;
  run.config = engine::RunDir(run_dir).read_config(overrides);
  run.typed = parse_config(run.config);
  run.tokenizer = text::load_tokenizer(engine::RunDir(run_dir).tokenizer());
  run.model = build_model(run.typed.model, run.tokenizer->vocab_size());
  engine::RunDir(run_dir).load_weights(*run.model);
  run.device = engine::run_device(run.config, device);
  run.model->to(run.device);
  run.model->eval();
  return run;
}

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device) {
  LoadedMlm run = load_run(run_dir, overrides, device);
  const TokenBlocks blocks(read_lines(data_path), *run.tokenizer, run.typed.mlm.max_length, run.typed.run.threads);
  nlohmann::json m = evaluate_blocks(*run.model, blocks, token_flags(*run.tokenizer), masking_options(run.typed.mlm),
                                     run.typed.train.eval_batch_size, run.device);
  m["data"] = data_path;
  return m;
}

void predict_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                 const std::string& device, int64_t batch_size) {
  LoadedMlm run = load_run(run_dir, {}, device);
  fill_mask_lines(in, input_name, out, *run.tokenizer, run.typed.mlm.max_length,
                  [&](const torch::Tensor& ids, const torch::Tensor& positions) {
                    return run.model->logits(ids.to(run.device), {}, {}, positions.to(run.device));
                  });
  (void)batch_size;  // one line per forward pass (fill_mask_lines)
}

}  // namespace attune::pretraining
