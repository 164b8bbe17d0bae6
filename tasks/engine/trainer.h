// The training loop shared by every task: AdamW with warm-up and decay, gradient
// accumulation and clipping, periodic evaluation with best-model selection and
// early stopping, checkpoints that resume exactly, metrics.jsonl and progress.
#pragma once
#include "tasks/engine/distributed.h"
#include "tasks/engine/optimizer.h"
#include "tasks/engine/task.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <ostream>
#include <string>

namespace attune::engine {

struct TrainOptions {
  std::string run_dir;
  torch::Device device = torch::kCPU;
  uint64_t seed = 42;
  int64_t epochs = 3;
  int64_t max_steps = 0;  // > 0 stops earlier than `epochs`
  int64_t grad_accum = 1;
  OptimizerOptions optimizer;
  double warmup_ratio = 0.1;
  int64_t warmup_steps = 0;  // > 0 overrides warmup_ratio
  Schedule schedule = Schedule::kLinear;
  double max_grad_norm = 1.0;  // <= 0 disables clipping
  int64_t log_every = 20;
  int64_t eval_every = 0;  // 0 = at the end of every epoch
  int64_t checkpoint_every = 200;
  int64_t early_stopping_patience = 0;  // evaluations without improvement; 0 = off
  std::string selection_metric = "macro_f1";
  bool higher_is_better = true;
  bool bf16 = true;  // autocast on CUDA with LibTorch 2.x
  bool cuda_graphs = false;  // replay captured steps (StepRunner); CUDA, LibTorch 2.x, tasks that split their loss
  // Data-parallel with graphs: the gradient sums captured in the graph (NCCL's kernels
  // replayed with the step), or false: the graph ends with backward and the sums, the
  // clipping and the update run after each replay (an ablation, docs/distributed.md).
  bool graph_collectives = true;
  // A step whose loss or gradient norm is NaN or infinite: false stops the run with the
  // step and its batches named, before such weights reach a checkpoint (checked at every
  // point the host syncs anyway); true skips the update (a host check after every step,
  // so no CUDA graphs) and counts it.
  bool skip_nonfinite = false;
  bool tensorboard = true;  // metrics.jsonl's numbers also as TensorBoard scalars (MetricsLog)
  // Polled after every optimizer step; true saves a checkpoint and returns (Ctrl-C, tests).
  std::function<bool(int64_t global_step)> stop_requested;
  std::ostream* log = nullptr;  // progress and messages; nullptr = std::cerr
  // Data-parallel training (docs/distributed.md); null = this process alone. A step then
  // spans grad_accum x world_size batches of the plan, each rank computing its share.
  std::shared_ptr<Distributed> distributed;
  // ZeRO stage: 1 shards AdamW's state over `distributed`'s ranks (tasks/engine/zero.h);
  // without a group it changes nothing.
  int zero = 0;
};

struct TrainResult {
  bool interrupted = false;
  int64_t global_step = 0;
  int64_t best_step = -1;
  nlohmann::json best_metrics;  // validation metrics of the weights in model.safetensors
  int64_t optimizer_state_bytes = 0;  // AdamW's state held by this process at the end (its shard under ZeRO)
  int64_t skipped_steps = 0;          // updates skipped for a non-finite loss or gradient (skip_nonfinite)
};

// Trains `task.model()` (already on options.device). With `resume`, continues from
// the run directory's latest checkpoint and ends exactly where an uninterrupted run
// would. The best weights are in <run_dir>/model.safetensors on return.
TrainResult train(TrainTask& task, const TrainOptions& options, bool resume);

// What one optimizer step leaves on the device; nothing of it is read back to the host.
struct StepOutput {
  torch::Tensor loss;       // float64 scalar: the mean loss of the step's examples
  torch::Tensor grad_norm;  // float scalar before clipping; undefined without clipping
  int64_t items = 0;        // task.batch_size_of summed over the micro-batches
  bool skipped = false;     // skip_nonfinite: the loss or gradient was not finite, no update was made
};

// Whether a step's loss and gradient norm are finite on every rank (a host sync, and a
// collective in a group).
bool finite_step(const StepOutput& out, const AdamW& optimizer, Distributed* group);

// Each micro-batch of plan[begin, end) weighted by its share of the step's examples, so
// that accumulating them equals one large batch.
std::vector<double> micro_batch_weights(const BatchPlan& plan, int64_t begin, int64_t end);

// The micro-batches of plan[begin, end) that `rank` of `world` ranks computes: every
// world-th from begin + rank, so N ranks x batch B read what 1 rank x batch N*B reads.
std::vector<int64_t> rank_micro_batches(int64_t begin, int64_t end, int rank, int world);
// This process's: all of them alone (group null), else its rank's of its group.
std::vector<int64_t> rank_micro_batches(int64_t begin, int64_t end, const Distributed* group);

// Their weights: each batch's share of the examples of all of plan[begin, end), so that
// the gradients summed over the ranks are those of the whole step's mean loss.
std::vector<double> rank_micro_batch_weights(const BatchPlan& plan, int64_t begin, int64_t end,
                                             const std::vector<int64_t>& mine);

class GradReducer;
class ShardedOptimizerState;

// The part of a step before the update, shared by train_step and the CUDA graph runner:
// gradients dropped, then for each micro-batch i the loss `loss_of(i)` under autocast,
// backpropagated with weight weights[i], then (data-parallel) the sum over the ranks,
// then clipping unless `clip` is false (a captured data-parallel step sums and clips
// after the graph). `items` is left 0.
StepOutput accumulate_gradients(AdamW& optimizer, const TrainOptions& options, const std::vector<double>& weights,
                                const std::function<torch::Tensor(size_t)>& loss_of, GradReducer* reducer = nullptr,
                                bool clip = true);

// One optimizer step of train() over the micro-batches plan[begin, end) at rate `lr`
// (data-parallel: this rank's share of them, and `reducer` sums the gradients):
// accumulate_gradients, then the update (under ZeRO, `sharded` updates this rank's
// parameters and sends them to the others). StepRunner (what train() and `attune bench`
// call) runs this unless CUDA graphs are on. `loss` and `items` are this rank's part.
StepOutput train_step(TrainTask& task, AdamW& optimizer, const TrainOptions& options, const BatchPlan& plan,
                      int64_t begin, int64_t end, double lr, GradReducer* reducer = nullptr,
                      ShardedOptimizerState* sharded = nullptr);

}  // namespace attune::engine
