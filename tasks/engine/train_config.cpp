#include "tasks/engine/train_config.h"

#include <limits>

namespace attune::engine {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

}  // namespace

void RunKeys::describe(config::Schema<RunKeys>& s) {
  s.string("run_dir", &RunKeys::run_dir, "where the run's files go (docs/architecture.md: the run directory)")
      .integer("seed", &RunKeys::seed, 0, kMax, "seed of initialisation, shuffling, dropout and splits")
      .string("device", &RunKeys::device, "auto, cpu, cuda or cuda:N")
      .integer("threads", &RunKeys::threads, 0, 1024, "CPU threads of LibTorch; 0 = one per core");
}

void TrainConfig::describe(config::Schema<TrainConfig>& s) {
  s.integer("epochs", &TrainConfig::epochs, 1, 100000, "passes over the training data")
      .integer("max_steps", &TrainConfig::max_steps, 0, kMax, "> 0 stops after this many optimizer steps")
      .integer("batch_size", &TrainConfig::batch_size, 1, 1 << 20, "examples per micro-batch")
      .integer("eval_batch_size", &TrainConfig::eval_batch_size, 1, 1 << 20, "examples per evaluation batch")
      .integer("grad_accum", &TrainConfig::grad_accum, 1, 4096, "micro-batches per optimizer step")
      .number("lr", &TrainConfig::lr, 0.0, 10.0, "peak learning rate of AdamW")
      .number("weight_decay", &TrainConfig::weight_decay, 0.0, 10.0, "AdamW's decoupled weight decay")
      .number("warmup_ratio", &TrainConfig::warmup_ratio, 0.0, 1.0, "share of the steps spent warming up")
      .integer("warmup_steps", &TrainConfig::warmup_steps, 0, kMax, "> 0 overrides warmup_ratio")
      .string("schedule", &TrainConfig::schedule, "linear, inverse_sqrt, constant or cosine")
      .number("adam_beta1", &TrainConfig::adam_beta1, 0.0, 0.999999, "AdamW's beta1")
      .number("adam_beta2", &TrainConfig::adam_beta2, 0.0, 0.999999, "AdamW's beta2")
      .number("adam_eps", &TrainConfig::adam_eps, 0.0, 1.0, "AdamW's epsilon")
      .number("max_grad_norm", &TrainConfig::max_grad_norm, 0.0, 1e9, "gradient clipping; 0 = off")
      .boolean("bucket_by_length", &TrainConfig::bucket_by_length, "batch texts of similar length together")
      .integer("log_every", &TrainConfig::log_every, 1, kMax, "steps per metrics.jsonl training line")
      .integer("eval_every", &TrainConfig::eval_every, 0, kMax, "steps per evaluation; 0 = every epoch")
      .integer("checkpoint_every", &TrainConfig::checkpoint_every, 0, kMax, "steps per checkpoint; 0 = at evaluations")
      .integer("early_stopping_patience", &TrainConfig::early_stopping_patience, 0, kMax,
               "evaluations without improvement before stopping; 0 = off")
      .string("selection_metric", &TrainConfig::selection_metric,
              "validation metric that picks the best weights (losses and perplexities are minimised)")
      .boolean("bf16", &TrainConfig::bf16, "bf16 autocast on CUDA")
      .boolean("cuda_graphs", &TrainConfig::cuda_graphs, "capture each step shape once and replay it (CUDA; results equal the eager steps)")
      .integer("zero", &TrainConfig::zero, 0, 1,
               "1 = shard AdamW's state over the data-parallel ranks (ZeRO stage 1); no effect "
               "on a process training alone; 0 = off")
      .choice("nonfinite", &TrainConfig::nonfinite, {"stop", "skip"},
              "a NaN or infinite loss or gradient: stop the run naming the step, or skip that update")
      .boolean("tensorboard", &TrainConfig::tensorboard,
               "also write metrics.jsonl's numbers as TensorBoard scalars (events.out.tfevents.attune)")
      .boolean("report", &TrainConfig::report,
               "write report.html (curves, metrics, config; `attune report`) when training ends");
}

TrainConfig train_section(const nlohmann::json& run_config) {
  return config::parse<TrainConfig>(config::at_path(run_config, "train"), "train", config::UnknownKeys::kIgnore);
}

std::vector<std::string> engine_help(const nlohmann::json& defaults) {
  std::vector<std::string> lines;
  config::append_help<RunKeys>(lines, "", defaults);
  config::append_help<TrainConfig>(lines, "train", defaults.at("train"));
  return lines;
}

RunKeys run_keys(const nlohmann::json& run_config) {
  return config::parse<RunKeys>(run_config, "", config::UnknownKeys::kIgnore);
}

}  // namespace attune::engine
