#include "tasks/engine/step_runner.h"

#include "core/error.h"
#include "core/compat.h"
#include "tasks/engine/cuda_graph.h"
#include "tasks/engine/grad_reducer.h"
#include "tasks/engine/zero.h"

#include <sstream>

namespace attune::engine {
namespace {

// The shapes and presence of a step's inputs, and the micro-batch weights baked into it.
std::string shape_key(const std::vector<std::vector<torch::Tensor>>& inputs, const std::vector<double>& weights) {
  std::ostringstream key;
  key << std::hexfloat;
  for (size_t i = 0; i < inputs.size(); ++i) {
    key << weights[i] << ':';
    for (const auto& t : inputs[i]) {
      if (t.defined()) {
        key << t.scalar_type() << t.sizes() << ';';
      } else {
        key << "-;";
      }
    }
    key << '|';
  }
  return key.str();
}

std::string why_graphs_off(const TrainTask& task, const AdamW& optimizer, const TrainOptions& options) {
  if (!options.cuda_graphs) return "";
  if (!options.device.is_cuda()) return "the device is " + options.device.str();
  if (!CudaGraph::supported()) return "this build of LibTorch has no CUDA graphs";
  if (options.skip_nonfinite) return "train.nonfinite = skip decides on the host, after every step, whether to update";
  if (options.distributed && options.zero == 1) return "train.zero shards the update over the ranks, which is not captured";
  if (!optimizer.fused()) return "they need the fused AdamW step";
  if (!task.supports_cuda_graphs()) return "this task (or its PEFT method) has host work inside the step";
  return "";
}

}  // namespace

struct StepRunner::Captured {
  std::unique_ptr<CudaGraph> graph;
  std::vector<std::vector<torch::Tensor>> inputs;  // static: new batches are copied in
  std::vector<torch::Tensor> updated;              // parameters whose AdamW steps it counts
  std::vector<torch::Tensor> grads;                // data-parallel: where backward writes each gradient
  StepOutput out;                                  // static: rewritten by every replay
};

StepRunner::StepRunner(TrainTask& task, AdamW& optimizer, const TrainOptions& options)
    : task_(task), optimizer_(optimizer), params_(parameters_of(optimizer)), options_(options) {
  off_reason_ = why_graphs_off(task, optimizer, options);
  graphs_on_ = options.cuda_graphs && off_reason_.empty();
  if (graphs_on_) optimizer_.use_device_rates();
  if (options.distributed) reducer_ = std::make_unique<GradReducer>(*options.distributed, params_);
  if (options.distributed && options.zero == 1) {
    sharded_ = std::make_unique<ShardedOptimizerState>(*options.distributed, optimizer);
  }
}

StepRunner::~StepRunner() = default;

StepOutput StepRunner::run(const BatchPlan& plan, int64_t begin, int64_t end, double lr) {
  if (!graphs_on_) return train_step(task_, optimizer_, options_, plan, begin, end, lr, reducer_.get(), sharded_.get());
  set_learning_rate(optimizer_, lr);
  optimizer_.write_rates();
  const std::vector<int64_t> mine = rank_micro_batches(begin, end, options_.distributed.get());
  const std::vector<double> weights = rank_micro_batch_weights(plan, begin, end, mine);
  int64_t items = 0;
  Inputs inputs;
  for (int64_t i : mine) {
    inputs.push_back(task_.graph_inputs(plan[i], options_.device));
    items += task_.batch_size_of(plan[i]);
  }
  const std::string key = shape_key(inputs, weights);
  Captured* c = nullptr;
  if (auto found = captured_.find(key); found != captured_.end()) {
    c = found->second.get();
    for (size_t i = 0; i < inputs.size(); ++i) {
      for (size_t j = 0; j < inputs[i].size(); ++j) {
        if (inputs[i][j].defined()) c->inputs[i][j].copy_(inputs[i][j], /*non_blocking=*/true);
      }
    }
  } else if (!inputs.empty() && seen_.count(key) && captured_.size() < kMaxGraphs) {
    c = &capture(key, std::move(inputs), weights);  // this batch becomes the graph's input
  } else {
    seen_.insert(key);
    std::vector<torch::Tensor> updated;
    StepOutput out = step_body(inputs, weights, /*count_on_host=*/true, updated);
    if (sums_outside()) finish_outside(out);
    out.items = items;
    return out;
  }
  c->graph->replay();
  // Copies: the next replay rewrites the graph's own outputs.
  StepOutput out;
  out.loss = c->out.loss.clone();
  if (sums_outside()) {
    // Another graph's capture or an eager step may have replaced the gradients since.
    for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = c->grads[i];
    finish_outside(out);
  } else {
    optimizer_.count_steps(c->updated);
    if (c->out.grad_norm.defined()) out.grad_norm = c->out.grad_norm.clone();
  }
  out.items = items;
  return out;
}

StepOutput StepRunner::step_body(const Inputs& inputs, const std::vector<double>& weights, bool count_on_host,
                                 std::vector<torch::Tensor>& updated) {
  // Data-parallel, the graph holds the gradient sums too (NCCL's kernels are captured
  // and replayed with the step), or it ends with backward and they follow each replay
  // (finish_outside).
  const bool whole = !sums_outside();
  StepOutput out = accumulate_gradients(
      optimizer_, options_, weights, [&](size_t i) { return task_.graph_loss(inputs[i]); },
      whole ? reducer_.get() : nullptr, whole);
  if (whole) updated = optimizer_.update(count_on_host);
  return out;
}

void StepRunner::finish_outside(StepOutput& out) {
  reducer_->reduce();
  if (options_.max_grad_norm > 0) out.grad_norm = clip_grad_norm(params_, options_.max_grad_norm);
  optimizer_.update(/*count_on_host=*/true);
}

StepRunner::Captured& StepRunner::capture(const std::string& key, Inputs inputs, const std::vector<double>& weights) {
  auto c = std::make_unique<Captured>();
  c->graph = std::make_unique<CudaGraph>(captured_.empty() ? nullptr : captured_.begin()->second->graph.get());
  c->inputs = std::move(inputs);
  optimizer_.zero_grad();  // before the capture empties the allocator's cache, so they go back too
  const bool cache = compat::set_autocast_cache(false);
  if (reducer_) reducer_->set_capturing(true);
  try {
    c->graph->capture(options_.device, [&] { c->out = step_body(c->inputs, weights, /*count_on_host=*/false, c->updated); });
  } catch (const c10::Error& e) {
    if (reducer_) reducer_->set_capturing(false);
    compat::set_autocast_cache(cache);
    fail("train.cuda_graphs", "capturing the training step failed (set it to false to train without graphs): " +
                                  first_line(e.what_without_backtrace()));
  }
  if (reducer_) reducer_->set_capturing(false);
  compat::set_autocast_cache(cache);
  if (sums_outside()) {
    for (const auto& p : params_) c->grads.push_back(p.grad());
  }
  Captured& ref = *c;
  captured_[key] = std::move(c);
  return ref;
}

}  // namespace attune::engine
