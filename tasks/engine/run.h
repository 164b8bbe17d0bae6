// One training run from start to results. Run owns the run directory (tasks/engine/
// run_dir.h), the lifecycle (fresh, --overwrite, --resume), the engine options read
// from the config, the log, and results.json; a task supplies a Recipe: its checks,
// its data and model, and its test metrics.
#pragma once
#include "tasks/engine/run_dir.h"
#include "tasks/engine/settings.h"
#include "tasks/engine/task.h"
#include "tasks/engine/trainer.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <ostream>

namespace attune::engine {

class Run;

// What a task built for one run.
struct Prepared {
  // The engine's view of the task; null when nothing is optimized (a fitted baseline).
  std::unique_ptr<TrainTask> trainer;
  // Keys the task adds to the run's summary (data sizes, parameters; "valid" for baselines).
  nlohmann::json summary = nlohmann::json::object();
  // Called once training has finished, with the best weights reloaded
  // (TrainTask::load_best): adds the test metrics, and whatever else is known only then,
  // to the summary. Empty when there is nothing to add.
  std::function<void(nlohmann::json& summary)> finish;
};

// A task's part of a training run, in the order Run::execute calls it.
class Recipe {
 public:
  virtual ~Recipe() = default;
  // Cheap checks of the config, before the run directory is touched or data is read.
  virtual void check(const nlohmann::json& config) const {}
  // Reads the data, builds the tokenizer and the model (or reloads them from the run
  // directory when run.resuming()), writes the task's own run files and, for a fresh
  // run, run.save_config().
  virtual Prepared prepare(Run& run) const = 0;
};

class Run {
 public:
  // config: complete (task defaults merged, overrides applied). Its thread count takes effect.
  Run(nlohmann::json config, const TrainFlags& flags);

  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  // The directory the task prepares in. Data-parallel ranks other than 0 prepare a fresh
  // copy of the run in a scratch directory of their own (removed at the end), so that
  // rank 0 alone writes the run directory; the engine then reads its checkpoint from there.
  const RunDir& dir() const { return dir_; }
  nlohmann::json& config() { return config_; }
  const TrainOptions& options() const { return options_; }
  bool resuming() const { return flags_.resume && scratch_.empty(); }
  std::ostream& log() const;

  // Writes config.json; what a fresh run saves rebuilds exactly its model.
  void save_config() const;

  // check -> directory -> prepare -> train -> reload best -> finish -> results.json.
  // Returns the summary `attune train` prints (run_dir, steps, best_step, interrupted,
  // valid, test and the task's own keys); an interrupted run writes no results.json.
  nlohmann::json execute(const Recipe& recipe);

 private:
  nlohmann::json config_;
  TrainFlags flags_;
  TrainOptions options_;
  std::string scratch_;  // ranks other than 0: their private directory
  RunDir dir_;
};

}  // namespace attune::engine
