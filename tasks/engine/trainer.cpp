#include "tasks/engine/trainer.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "core/log.h"
#include "core/compat.h"
#include "tasks/engine/checkpoint.h"
#include "tasks/engine/grad_reducer.h"
#include "tasks/engine/metrics_log.h"
#include "tasks/engine/progress.h"
#include "tasks/engine/run_dir.h"
#include "tasks/engine/step_runner.h"
#include "tasks/engine/zero.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::engine {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Dropout and any other sampling in a step depend only on (seed, step), so a resumed
// run draws exactly the random numbers the uninterrupted run would have drawn.
void seed_step(uint64_t seed, int64_t step) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) + 1;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 29;
  torch::manual_seed(x & 0x7FFFFFFFFFFFFFFFULL);
}

std::string format_number(double x) {
  std::ostringstream s;
  s << std::setprecision(4) << x;
  return s.str();
}

// Where ranks other than 0 write their progress: nowhere.
std::ostream& discard() {
  static std::ostream sink(nullptr);
  return sink;
}

class Loop {
 public:
  Loop(TrainTask& task, const TrainOptions& options)
      : task_(task),
        options_(options),
        model_(task.model()),
        group_(options.distributed.get()),
        main_(!group_ || group_->is_main()),
        world_(group_ ? group_->world_size() : 1),
        out_(!main_ ? discard() : options.log ? *options.log : log::out()) {}

  TrainResult run(bool resume) {
    // Rank 0 alone writes the run directory; the others only read a checkpoint from it.
    if (main_) fs::create_directories(options_.run_dir);
    metrics_ = std::make_unique<MetricsLog>(RunDir(options_.run_dir), options_.tensorboard);
    optimizer_ = make_adamw(*model_, options_.optimizer);

    const int64_t batches_per_epoch = static_cast<int64_t>(task_.train_plan(0, options_.seed).size());
    if (batches_per_epoch == 0) fail("data.train", "no training batches");
    const int64_t batches_per_step = options_.grad_accum * world_;
    steps_per_epoch_ = (batches_per_epoch + batches_per_step - 1) / batches_per_step;
    total_steps_ = options_.epochs * steps_per_epoch_;
    if (options_.max_steps > 0) total_steps_ = std::min(total_steps_, options_.max_steps);
    warmup_steps_ = options_.warmup_steps > 0 ? options_.warmup_steps
                                              : static_cast<int64_t>(std::llround(options_.warmup_ratio * total_steps_));

    if (resume) {
      const auto checkpoint = latest_checkpoint(options_.run_dir);
      if (!checkpoint) fail(options_.run_dir, "no checkpoint to resume from");
      state_ = load_checkpoint(
          *checkpoint,
          [&](const formats::SafetensorsFile& file, const std::string& path) { task_.load_checkpoint_tensors(file, path); },
          *optimizer_, options_.device);
      if (state_.world_size != world_) {
        fail(options_.run_dir, "its checkpoint was written by " + std::to_string(state_.world_size) +
                                   " rank(s); resume it with as many (this run has " + std::to_string(world_) + ")");
      }
      // Lines logged after the checkpoint are replayed by this run.
      if (main_) {
        metrics_->resume_after(state_.global_step);
      } else {
        state_.window_loss_sum = 0.0;  // the saved sum is the whole group's: counted once, on rank 0
      }
      out_ << "resuming " << options_.run_dir << " at step " << state_.global_step << "/" << total_steps_ << "\n";
    } else if (main_) {
      metrics_->start();
    }
    state_.world_size = world_;
    if (group_) broadcast_model();
    if (state_.finished) return result(false);
    runner_ = std::make_unique<StepRunner>(task_, *optimizer_, options_);
    // On by default: a CPU run need not hear that a CUDA feature is off.
    if (!runner_->graphs_off_reason().empty() && options_.device.is_cuda()) {
      out_ << "note: train.cuda_graphs is off: " << runner_->graphs_off_reason() << "\n";
    }
    if (state_.window_steps > 0) {
      window_loss_ = torch::tensor(state_.window_loss_sum, torch::kDouble);
      window_steps_ = state_.window_steps;
    }
    stop_early_ = options_.early_stopping_patience > 0 &&
                  state_.evals_without_improvement >= options_.early_stopping_patience;

    tty_ = main_ && options_.log == nullptr && io::is_tty(2);
    progress_ = std::make_unique<Progress>("train", total_steps_, out_, tty_);
    start_ = Clock::now();
    elapsed_before_ = state_.elapsed_s;
    window_start_ = elapsed_before_;
    const bool interrupted = !train_epochs();
    progress_->finish();
    state_.elapsed_s = elapsed();
    if (!interrupted) {
      state_.finished = true;
      if (!evaluated_at_current_step_) evaluate();
    }
    save();
    return result(interrupted);
  }

 private:
  double elapsed() const { return elapsed_before_ + seconds_since(start_); }

  // Every rank starts from rank 0's weights, whatever its own initialisation drew.
  void broadcast_model() {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> tensors;
    for (const auto& p : model_->parameters()) tensors.push_back(p);
    for (const auto& b : model_->buffers()) tensors.push_back(b);
    for (auto& t : tensors) {
      std::vector<torch::Tensor> one = {t.is_contiguous() ? t : t.contiguous()};
      group_->broadcast(one);
      if (!one[0].is_same(t)) t.copy_(one[0]);
    }
  }

  // AdamW's state sharded over the ranks (train.zero = 1); null otherwise.
  ShardedOptimizerState* sharded() const { return runner_ ? runner_->sharded_state() : nullptr; }

  // Rank 0 writes the checkpoint; under ZeRO it first collects the other ranks' shards of
  // the optimizer state (every rank reaches this point at the same step), so that the
  // checkpoint is the one an unsharded run writes, and drops them again afterwards.
  void save() {
    check_finite();
    if (sharded()) sharded()->gather_to_main();
    if (main_) save_checkpoint(options_.run_dir, task_.checkpoint_tensors(), *optimizer_, state_);
    if (sharded()) sharded()->drop_foreign_state();
  }

  // One line per run: the optimizer memory ZeRO saves, measured on every rank once the
  // first step has made the state. "Unsharded" is what every rank holds without ZeRO.
  void report_sharded_state() {
    const std::vector<double> bytes = group_->gather_numbers(static_cast<double>(optimizer_->state_bytes()));
    const double largest = *std::max_element(bytes.begin(), bytes.end());
    const double all = std::accumulate(bytes.begin(), bytes.end(), 0.0);
    const auto mib = [](double b) { return format_number(b / (1 << 20)); };
    out_ << (tty_ ? "\n" : "") << "zero: AdamW state per rank " << mib(largest) << " MiB (" << mib(all)
         << " MiB unsharded; bytes by rank:";
    for (double b : bytes) out_ << " " << static_cast<int64_t>(b);
    out_ << ")\n";
  }

  struct WindowTotals {
    double loss = 0.0;
    int64_t items = 0;
    bool stop = false;  // some rank asked to stop
  };
  // The training loss summed since the last log line, over every rank (this rank's part
  // is its share of each step's mean), with the items behind it and the ranks' stop votes.
  WindowTotals window_totals() {
    WindowTotals totals;
    totals.loss = window_loss_.defined() ? window_loss_.cpu().item<double>() : 0.0;
    totals.items = window_items_;
    totals.stop = stop_pending_;
    if (!group_) return totals;
    std::vector<torch::Tensor> t = {
        torch::tensor({totals.loss, static_cast<double>(totals.items), totals.stop ? 1.0 : 0.0}, torch::kDouble)
            .to(options_.device)};
    group_->all_reduce_sum(t);
    const torch::Tensor back = t[0].cpu();
    totals.loss = back[0].item<double>();
    totals.items = static_cast<int64_t>(back[1].item<double>());
    totals.stop = back[2].item<double>() > 0.0;
    return totals;
  }

  TrainResult result(bool interrupted) const {
    TrainResult r;
    r.interrupted = interrupted;
    r.global_step = state_.global_step;
    r.best_step = state_.best_step;
    r.best_metrics = state_.best_metrics;
    r.optimizer_state_bytes = optimizer_->state_bytes();
    r.skipped_steps = state_.skipped_steps;
    return r;
  }

  std::string where_in_data(int64_t epoch, int64_t begin, int64_t end) const {
    std::string where = "epoch " + std::to_string(epoch + 1) + " of " + std::to_string(options_.epochs) + ", ";
    where += end - begin == 1 ? "batch " + std::to_string(begin)
                              : "batches " + std::to_string(begin) + "-" + std::to_string(end - 1);
    return where + " of its plan";
  }

  // Whether a step's loss and gradient norm are finite stays on the device until the host
  // waits for it anyway (check_finite), so watching costs the step no synchronisation.
  void watch_finite(const StepOutput& out, int64_t begin, int64_t end) {
    torch::Tensor bad = torch::isfinite(out.loss).logical_not();
    if (out.grad_norm.defined()) bad = bad.logical_or(torch::isfinite(out.grad_norm).logical_not().to(bad.device()));
    watched_.push_back({bad, state_.global_step, state_.epoch, begin, end});
  }

  // Stops the run at the first watched step whose loss or gradient was NaN or infinite:
  // before such weights are logged, evaluated or checkpointed.
  void check_finite() {
    if (watched_.empty()) return;  // on every rank alike: they watch the same steps
    std::vector<torch::Tensor> flags;
    for (const auto& w : watched_) flags.push_back(w.bad);
    const torch::Tensor bad = torch::stack(flags).cpu();
    const Watched* first = nullptr;
    for (size_t i = 0; i < watched_.size() && !first; ++i) {
      if (bad[static_cast<int64_t>(i)].item<bool>()) first = &watched_[i];
    }
    std::string where;
    if (first) where = "at step " + std::to_string(first->step) + " (" + where_in_data(first->epoch, first->begin, first->end) + ")";
    watched_.clear();
    const bool any = group_ ? group_->any(first != nullptr) : first != nullptr;
    if (!any) return;
    if (!first) where = "on another rank";
    const auto previous = latest_checkpoint(options_.run_dir);
    fail("train", "the loss or gradient norm became NaN or infinite " + where +
                      "; the run stops before saving such weights (" +
                      (previous ? "--resume restarts from " + fs::path(*previous).filename().string()
                                : std::string("no checkpoint was written")) +
                      "). Lower train.lr, keep train.max_grad_norm > 0, try train.bf16 = false, or set "
                      "train.nonfinite = \"skip\" to skip such steps");
  }

  // Returns false when stopped by request (checkpoint already written by the caller).
  bool train_epochs() {
    model_->train();
    while (state_.epoch < options_.epochs) {
      const BatchPlan plan = task_.train_plan(state_.epoch, options_.seed);
      const int64_t batches = static_cast<int64_t>(plan.size());
      bool epoch_done = false;
      while (!epoch_done) {
        if (state_.global_step >= total_steps_ || stop_early_) return true;
        const int64_t end = std::min(batches, state_.batch_in_epoch + options_.grad_accum * world_);
        step(plan, state_.batch_in_epoch, end);
        epoch_done = end == batches;
        // A checkpoint taken at the end of an epoch points at the start of the next.
        state_.batch_in_epoch = epoch_done ? 0 : end;
        if (epoch_done) ++state_.epoch;
        const bool eval_now =
            options_.eval_every == 0 ? epoch_done : state_.global_step % options_.eval_every == 0;
        if (eval_now) evaluate();
        if (!after_step()) return false;
      }
    }
    return true;
  }

  // Whether to stop now. A signal reaches the ranks at different steps, and they must all
  // stop at the same one, so a group agrees on it; but a vote is a collective that the host
  // waits for, which drains the queue of launched kernels, so it is held only every
  // kStopVoteEvery steps, or rides on a log step's sums.
  bool stop_now() {
    if (!options_.stop_requested) return false;
    note_stop_request();
    if (!group_) return stop_pending_;
    if (stop_voted_at_ == state_.global_step) return stop_agreed_;
    if (state_.global_step % kStopVoteEvery != 0) return false;
    return group_->any(stop_pending_);
  }

  // A request is remembered until the ranks vote on it.
  void note_stop_request() {
    if (options_.stop_requested) stop_pending_ = stop_pending_ || options_.stop_requested(state_.global_step);
  }

  // Checkpoints and honours stop requests after an optimizer step.
  bool after_step() {
    const bool stop = stop_now();
    const bool periodic = options_.checkpoint_every > 0 && state_.global_step % options_.checkpoint_every == 0;
    if (stop || periodic || evaluated_at_current_step_) {
      state_.elapsed_s = elapsed();
      state_.window_loss_sum = window_totals().loss;
      state_.window_steps = window_steps_;
      save();
    }
    return !stop;
  }

  void step(const BatchPlan& plan, int64_t begin, int64_t end) {
    // Ranks draw different dropout masks for their different examples; rank 0 draws what
    // a single process draws.
    seed_step(options_.seed ^ (static_cast<uint64_t>(group_ ? group_->rank() : 0) * 0x632BE59BD9B4E019ULL),
              state_.global_step);
    evaluated_at_current_step_ = false;
    const double lr =
        options_.optimizer.lr * schedule_factor(options_.schedule, state_.global_step, warmup_steps_, total_steps_);
    StepOutput out = runner_->run(plan, begin, end, lr);
    if (sharded() && !reported_sharded_state_) {
      report_sharded_state();
      reported_sharded_state_ = true;
    }
    ++state_.global_step;
    if (out.skipped) {
      ++state_.skipped_steps;
      out_ << (tty_ ? "\n" : "") << "skipped step " << state_.global_step << ": its loss or gradient is NaN or infinite ("
           << where_in_data(state_.epoch, begin, end) << "; " << state_.skipped_steps << " skipped so far)\n";
    } else {
      task_.after_optimizer_step(state_.global_step, total_steps_);
      if (!options_.skip_nonfinite) watch_finite(out, begin, end);
      window_loss_ = window_loss_.defined() ? window_loss_ + out.loss : out.loss;
      window_items_ += out.items;
      ++window_steps_;
      last_grad_norm_ = out.grad_norm;
    }
    if (state_.global_step % options_.log_every == 0 || state_.global_step == total_steps_) log_train(lr);
    progress_->update(state_.global_step, last_loss_text_);
  }

  void log_train(double lr) {
    // Reading the loss and the norm back is the only host synchronisation in the loop.
    check_finite();
    note_stop_request();
    const WindowTotals totals = window_totals();
    stop_voted_at_ = state_.global_step;
    stop_agreed_ = totals.stop;
    const int64_t items = totals.items;
    // A window of skipped steps alone has no loss (null in metrics.jsonl).
    const double loss = window_steps_ > 0 ? totals.loss / window_steps_ : std::nan("");
    const double grad_norm = last_grad_norm_.defined() ? last_grad_norm_.item<double>() : -1.0;
    const double now = elapsed();
    const double rate = items / std::max(1e-9, now - window_start_);
    nlohmann::json line = {{"step", state_.global_step},
                           {"epoch", static_cast<double>(state_.global_step) / steps_per_epoch_},
                           {"split", "train"},
                           {"loss", loss},
                           {"lr", lr},
                           {"items_per_s", rate},
                           {"elapsed_s", now}};
    if (last_grad_norm_.defined()) line["grad_norm"] = grad_norm;
    if (state_.skipped_steps > 0) line["skipped_steps"] = state_.skipped_steps;
    if (main_) metrics_->append(line);
    last_loss_text_ = "loss=" + format_number(loss);
    window_loss_ = torch::Tensor();
    window_steps_ = 0;
    window_items_ = 0;
    window_start_ = now;
  }

  void evaluate() {
    check_finite();
    nlohmann::json metrics;
    {
      model_->eval();
      torch::NoGradGuard no_grad;
      compat::AutocastGuard autocast(options_.device, options_.bf16);
      metrics = task_.evaluate(options_.device, EvalShard(group_));
      model_->train();
    }
    // Every rank holds the metrics of the whole validation split; rank 0's copy decides
    // for all all the same, so that selection and early stopping can never diverge.
    if (group_) metrics = nlohmann::json::parse(group_->broadcast_string(metrics.dump()));
    evaluated_at_current_step_ = true;
    if (!metrics.contains(options_.selection_metric) || !metrics[options_.selection_metric].is_number()) {
      fail("train.selection_metric", "evaluation has no metric '" + options_.selection_metric + "'");
    }
    const double value = metrics[options_.selection_metric].get<double>();
    const bool improved = !state_.has_best ||
                          (options_.higher_is_better ? value > state_.best_metric : value < state_.best_metric);
    nlohmann::json line = {{"step", state_.global_step},
                           {"epoch", static_cast<double>(state_.global_step) / steps_per_epoch_},
                           {"split", "valid"},
                           {"elapsed_s", elapsed()}};
    line.update(metrics);
    if (main_) metrics_->append(line);
    if (improved) {
      state_.has_best = true;
      state_.best_metric = value;
      state_.best_step = state_.global_step;
      state_.best_metrics = metrics;
      state_.evals_without_improvement = 0;
      if (main_) task_.save_best(options_.run_dir);
    } else {
      ++state_.evals_without_improvement;
      if (options_.early_stopping_patience > 0 &&
          state_.evals_without_improvement >= options_.early_stopping_patience) {
        stop_early_ = true;
      }
    }
    out_ << (tty_ ? "\n" : "") << "eval step " << state_.global_step << ": "
         << options_.selection_metric << "=" << format_number(value) << (improved ? " (best)" : "")
         << (stop_early_ ? " - early stopping" : "") << "\n";
  }

  TrainTask& task_;
  const TrainOptions& options_;
  std::shared_ptr<torch::nn::Module> model_;
  Distributed* group_;  // null: this process alone
  bool main_;           // rank 0, or alone: writes the run directory and the progress
  int64_t world_;
  std::ostream& out_;
  std::unique_ptr<AdamW> optimizer_;
  std::unique_ptr<StepRunner> runner_;
  std::unique_ptr<Progress> progress_;
  TrainerState state_;
  std::unique_ptr<MetricsLog> metrics_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, warmup_steps_ = 0;
  Clock::time_point start_;
  double elapsed_before_ = 0.0;
  torch::Tensor window_loss_;
  torch::Tensor last_grad_norm_;  // of the latest step, on the device until logged
  int64_t window_steps_ = 0, window_items_ = 0;
  double window_start_ = 0.0;
  std::string last_loss_text_;
  bool evaluated_at_current_step_ = false;
  bool tty_ = false;  // the progress bar holds an open line on a terminal
  bool stop_early_ = false;
  static constexpr int64_t kStopVoteEvery = 10;
  bool stop_pending_ = false;  // asked to stop, on this rank
  int64_t stop_voted_at_ = -1;  // the step of the last vote on a log step, and its outcome
  bool stop_agreed_ = false;
  bool reported_sharded_state_ = false;
  struct Watched {
    torch::Tensor bad;  // bool scalar on the device
    int64_t step, epoch, begin, end;
  };
  std::vector<Watched> watched_;  // steps since the last check_finite
};

}  // namespace

StepOutput accumulate_gradients(AdamW& optimizer, const TrainOptions& options, const std::vector<double>& weights,
                                const std::function<torch::Tensor(size_t)>& loss_of, GradReducer* reducer, bool clip) {
  // Dropped on LibTorch 2.x (1.13 zeroes them): backward allocates them anew where the
  // forward's activations were, so they cost no memory during the forward; under a CUDA
  // graph capture they are allocated in the graph's pool, where every replay writes them.
  optimizer.zero_grad();
  StepOutput out;
  for (size_t i = 0; i < weights.size(); ++i) {
    torch::Tensor loss;
    {
      compat::AutocastGuard autocast(options.device, options.bf16);
      loss = loss_of(i);
    }
    // The last backward of the step overlaps with the gradient sums (GradReducer).
    if (reducer && i + 1 == weights.size()) reducer->arm();
    (loss * weights[i]).backward();
    const torch::Tensor part = loss.detach().to(torch::kDouble) * weights[i];
    out.loss = out.loss.defined() ? out.loss + part : part;
  }
  // A rank left without batches at the end of an epoch still takes part in the sum.
  if (!out.loss.defined()) out.loss = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(options.device));
  if (reducer) reducer->reduce();
  if (clip && options.max_grad_norm > 0) out.grad_norm = clip_grad_norm(parameters_of(optimizer), options.max_grad_norm);
  return out;
}

bool finite_step(const StepOutput& out, const AdamW& optimizer, Distributed* group) {
  // The norm is of the summed gradients, the same on every rank; the loss is this rank's.
  const torch::Tensor norm = out.grad_norm.defined() ? out.grad_norm : gradient_norm(parameters_of(optimizer));
  const bool finite = torch::isfinite(out.loss).logical_and(torch::isfinite(norm).to(out.loss.device())).item<bool>();
  return group ? !group->any(!finite) : finite;
}

std::vector<double> micro_batch_weights(const BatchPlan& plan, int64_t begin, int64_t end) {
  int64_t examples = 0;
  for (int64_t i = begin; i < end; ++i) examples += static_cast<int64_t>(plan[i].size());
  std::vector<double> weights;
  for (int64_t i = begin; i < end; ++i) weights.push_back(static_cast<double>(plan[i].size()) / examples);
  return weights;
}

std::vector<int64_t> rank_micro_batches(int64_t begin, int64_t end, int rank, int world) {
  std::vector<int64_t> mine;
  for (int64_t i = begin + rank; i < end; i += world) mine.push_back(i);
  return mine;
}

std::vector<int64_t> rank_micro_batches(int64_t begin, int64_t end, const Distributed* group) {
  return rank_micro_batches(begin, end, group ? group->rank() : 0, group ? group->world_size() : 1);
}

std::vector<double> rank_micro_batch_weights(const BatchPlan& plan, int64_t begin, int64_t end,
                                             const std::vector<int64_t>& mine) {
  int64_t examples = 0;
  for (int64_t i = begin; i < end; ++i) examples += static_cast<int64_t>(plan[i].size());
  std::vector<double> weights;
  for (int64_t i : mine) weights.push_back(static_cast<double>(plan[i].size()) / examples);
  return weights;
}

StepOutput train_step(TrainTask& task, AdamW& optimizer, const TrainOptions& options, const BatchPlan& plan,
                      int64_t begin, int64_t end, double lr, GradReducer* reducer,
                      ShardedOptimizerState* sharded) {
  set_learning_rate(optimizer, lr);
  const std::vector<int64_t> mine = rank_micro_batches(begin, end, options.distributed.get());
  StepOutput out = accumulate_gradients(
      optimizer, options, rank_micro_batch_weights(plan, begin, end, mine),
      [&](size_t i) { return task.train_loss(plan[mine[i]], options.device); }, reducer);
  for (int64_t i : mine) out.items += task.batch_size_of(plan[i]);
  if (options.skip_nonfinite && !finite_step(out, optimizer, options.distributed.get())) {
    optimizer.zero_grad();
    out.skipped = true;
    return out;
  }
  if (sharded) {
    sharded->step();
  } else {
    optimizer.step();
  }
  return out;
}

TrainResult train(TrainTask& task, const TrainOptions& options, bool resume) {
  if (options.grad_accum < 1) fail("train.grad_accum", "must be >= 1");
  if (options.log_every < 1) fail("train.log_every", "must be >= 1");
  return Loop(task, options).run(resume);
}

}  // namespace attune::engine
