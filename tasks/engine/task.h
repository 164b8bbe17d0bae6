// The contract between the training engine and a task (classification, translation,
// recommendation, ...). The engine owns the loop, the optimizer, the schedule,
// checkpoints, resume, logging and progress; a task owns data, model and metrics.
#pragma once
#include "data/formats/safetensors.h"
#include "tasks/engine/eval_shard.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attune::engine {

// One training or evaluation batch, as indices into the task's own example list.
using BatchPlan = std::vector<std::vector<int64_t>>;

// `items` shuffled by (epoch, seed) and cut into batches of batch_size (the last may be
// shorter): a train_plan for tasks whose examples need no length bucketing.
BatchPlan shuffled_batches(std::vector<int64_t> items, int64_t batch_size, int64_t epoch, uint64_t seed);

// A seed that depends only on a batch's indices, for the random draws of train_loss
// (negatives, masks, augmentation): a resumed run replays the batch with the same draws.
uint64_t batch_seed(const std::vector<int64_t>& batch);

class TrainTask {
 public:
  virtual ~TrainTask() = default;

  // The module whose parameters are trained and checkpointed (named_parameters()
  // keys are the checkpoint's tensor names).
  virtual std::shared_ptr<torch::nn::Module> model() = 0;

  // The order of training batches of one epoch. Must be a pure function of
  // (epoch, seed) so that a resumed run replays exactly the same batches.
  virtual BatchPlan train_plan(int64_t epoch, uint64_t seed) = 0;

  // Mean loss of one training batch on `device` (the model is in train mode and on
  // `device`; autocast, if any, is already active).
  virtual torch::Tensor train_loss(const std::vector<int64_t>& batch, const torch::Device& device) = 0;

  // CUDA graphs (train.cuda_graphs) capture a step once and replay it for every later
  // batch of the same shapes. A task opts in by splitting train_loss in two:
  // graph_inputs, the host part, turns a batch into tensors on `device` (undefined
  // entries allowed; their shapes and presence choose the graph); graph_loss, the device
  // part, computes the loss from those tensors (and device tensors the task keeps, if
  // they stay where they are: a graph reads the addresses it was captured with) with no
  // host reads or copies.
  // train_loss(b, d) must equal graph_loss(graph_inputs(b, d)).
  virtual bool supports_cuda_graphs() const { return false; }
  virtual std::vector<torch::Tensor> graph_inputs(const std::vector<int64_t>& batch, const torch::Device& device);
  virtual torch::Tensor graph_loss(const std::vector<torch::Tensor>& inputs);

  // Number of real (non-padding) tokens or samples in a batch, for throughput logs.
  virtual int64_t batch_size_of(const std::vector<int64_t>& batch) const { return static_cast<int64_t>(batch.size()); }

  // Metrics on the validation split (model in eval mode, no grad). Must contain the
  // selection metric named in TrainOptions::selection_metric. In a data-parallel run
  // every rank calls it: each computes the batches `shard` owns and combines the parts
  // (EvalShard), so that all get the metrics one process would.
  virtual nlohmann::json evaluate(const torch::Device& device, const EvalShard& shard) = 0;

  // Called after every optimizer step (global_step counts from 1); AdaLoRA's rank
  // allocation hangs here.
  virtual void after_optimizer_step(int64_t global_step, int64_t total_steps) {}

  // What a checkpoint holds to resume, and how it is loaded back. Default: every
  // tensor of model(), loaded strictly.
  virtual formats::NamedTensors checkpoint_tensors();
  virtual void load_checkpoint_tensors(const formats::SafetensorsFile& file, const std::string& path);

  // Writes the weights of a new best evaluation into run_dir, and reads them back once
  // training is over. Default: the run's model.safetensors with every tensor of model().
  virtual void save_best(const std::string& run_dir);
  virtual void load_best(const std::string& run_dir);
};

}  // namespace attune::engine
