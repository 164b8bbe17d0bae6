// Resumable training state in a run directory. A checkpoint is written into a fresh
// directory, renamed into place, and only then published by atomically rewriting
// `checkpoint.json`; a crash at any point leaves the previous checkpoint intact.
#pragma once
#include "data/formats/safetensors.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

namespace attune::engine {

struct TrainerState {
  int64_t global_step = 0;     // optimizer steps done
  int64_t epoch = 0;           // epoch in progress
  int64_t batch_in_epoch = 0;  // micro-batches of `epoch` already consumed
  bool has_best = false;
  double best_metric = 0.0;
  int64_t best_step = -1;
  nlohmann::json best_metrics;                 // the evaluation that produced model.safetensors
  int64_t evals_without_improvement = 0;
  bool finished = false;
  double window_loss_sum = 0.0;  // training loss logged since the last metrics line,
  int64_t window_steps = 0;      // kept so a resumed run logs the same averages
  double elapsed_s = 0.0;
  int64_t world_size = 1;  // data-parallel ranks: a step spans grad_accum x world_size batches
  int64_t skipped_steps = 0;  // updates skipped for a non-finite loss or gradient

  nlohmann::json to_json() const;
  static TrainerState from_json(const nlohmann::json& j, const std::string& path);
};

// tensors: what the task needs to resume (TrainTask::checkpoint_tensors()).
void save_checkpoint(const std::string& run_dir, const formats::NamedTensors& tensors,
                     torch::optim::Optimizer& optimizer, const TrainerState& state);

// The published checkpoint directory of a run, if any.
std::optional<std::string> latest_checkpoint(const std::string& run_dir);

// The model must already be on `device`; optimizer state is loaded onto it.
// load_tensors receives the checkpoint's tensors (TrainTask::load_checkpoint_tensors()).
TrainerState load_checkpoint(const std::string& checkpoint_dir,
                             const std::function<void(const formats::SafetensorsFile&, const std::string&)>& load_tensors,
                             torch::optim::Optimizer& optimizer, const torch::Device& device);

}  // namespace attune::engine
