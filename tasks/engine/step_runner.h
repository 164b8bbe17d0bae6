// The optimizer steps of train() and `attune bench`. Without CUDA graphs a step is
// train_step. With train.cuda_graphs on a CUDA device, the first batch of each shape
// runs eagerly, the second is captured as one CUDA graph (forward, backward, clipping
// and the fused AdamW update), and every later batch of that shape is copied into the
// graph's inputs and replayed with a single launch: the host no longer issues the
// step's ~1,000 kernels one by one, which bounds short-sequence steps. Data-parallel, a
// graph holds this rank's micro-batches and the gradient sums (NCCL's kernels), or with
// graph_collectives off, forward and backward only, the rest running after each replay.
#pragma once
#include "tasks/engine/trainer.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace attune::engine {

class StepRunner {
 public:
  StepRunner(TrainTask& task, AdamW& optimizer, const TrainOptions& options);
  ~StepRunner();
  StepRunner(const StepRunner&) = delete;
  StepRunner& operator=(const StepRunner&) = delete;

  // One optimizer step over plan[begin, end) at rate `lr`, as train_step defines it.
  StepOutput run(const BatchPlan& plan, int64_t begin, int64_t end, double lr);

  bool graphs_on() const { return graphs_on_; }
  // Why train.cuda_graphs was asked for but is off; "" otherwise.
  const std::string& graphs_off_reason() const { return off_reason_; }
  int64_t graphs_captured() const { return static_cast<int64_t>(captured_.size()); }
  // AdamW's state sharded over the ranks (train.zero = 1 in a group); null otherwise.
  ShardedOptimizerState* sharded_state() { return sharded_.get(); }

  // Graphs kept at most; later shapes run eagerly. They share one memory pool, so the
  // cost is their launch structures, not a copy of the activations each.
  static constexpr size_t kMaxGraphs = 16;

 private:
  struct Captured;
  using Inputs = std::vector<std::vector<torch::Tensor>>;  // per micro-batch, task.graph_inputs
  // The step on graph inputs: eager (count_on_host) or under capture.
  StepOutput step_body(const Inputs& inputs, const std::vector<double>& weights, bool count_on_host,
                       std::vector<torch::Tensor>& updated);
  Captured& capture(const std::string& key, Inputs inputs, const std::vector<double>& weights);
  // Data-parallel with TrainOptions::graph_collectives off: the sum over the ranks,
  // clipping and the update after a step's backward, outside the graph.
  bool sums_outside() const { return reducer_ && !options_.graph_collectives; }
  void finish_outside(StepOutput& out);

  TrainTask& task_;
  AdamW& optimizer_;
  const std::vector<torch::Tensor> params_;  // the optimizer's, in order
  std::unique_ptr<GradReducer> reducer_;  // data-parallel runs only
  std::unique_ptr<ShardedOptimizerState> sharded_;
  const TrainOptions& options_;
  bool graphs_on_ = false;
  std::string off_reason_;
  std::set<std::string> seen_;  // shapes that ran eagerly once: the next one is captured
  std::map<std::string, std::unique_ptr<Captured>> captured_;
};

}  // namespace attune::engine
