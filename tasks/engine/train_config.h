// The typed sections every run config shares: the top-level run keys and "train", the
// engine's section. Their describe() lists are the single source of their defaults,
// checks and help (core/schema.h).
#pragma once
#include "core/schema.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attune::engine {

struct RunKeys {
  std::string run_dir = "runs/latest";
  int64_t seed = 42;
  std::string device = "auto";
  int64_t threads = 0;
  static void describe(config::Schema<RunKeys>& s);
};

struct TrainConfig {
  int64_t epochs = 3;
  int64_t max_steps = 0;
  int64_t batch_size = 32;
  int64_t eval_batch_size = 64;
  int64_t grad_accum = 1;
  double lr = 5e-4;
  double weight_decay = 0.01;
  double warmup_ratio = 0.1;
  int64_t warmup_steps = 0;
  std::string schedule = "linear";
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  double max_grad_norm = 1.0;
  bool bucket_by_length = true;
  int64_t log_every = 20;
  int64_t eval_every = 0;
  int64_t checkpoint_every = 200;
  int64_t early_stopping_patience = 0;
  std::string selection_metric = "macro_f1";
  bool bf16 = true;
  bool cuda_graphs = true;  // CUDA with LibTorch 2.x only; elsewhere steps run eagerly
  int64_t zero = 0;
  std::string nonfinite = "stop";
  bool tensorboard = true;
  bool report = true;
  static void describe(config::Schema<TrainConfig>& s);
};

// The "train" section of a run config, typed; a task's own keys there are left to the task.
TrainConfig train_section(const nlohmann::json& run_config);
// Help lines of the run keys and the train section a task's defaults show.
std::vector<std::string> engine_help(const nlohmann::json& defaults);

// The top-level run keys of a run config, typed; the task's sections are left to the task.
RunKeys run_keys(const nlohmann::json& run_config);

}  // namespace attune::engine
