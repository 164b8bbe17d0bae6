// Maps the "task" key of a run config to what the CLI needs: the task's default
// config and its train / eval / predict entry points.
#pragma once
#include "tasks/engine/settings.h"
#include "tasks/serving/predictor.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace attune::tasks {

struct TaskEntry {
  std::string name;
  std::string description;
  std::function<nlohmann::json()> default_config;
  std::function<nlohmann::json(const nlohmann::json& config, const engine::TrainFlags& flags)> train;
  std::function<nlohmann::json(const std::string& run_dir, const std::string& data_path,
                               const std::vector<std::string>& overrides, const std::string& device)>
      evaluate;
  std::function<void(const std::string& run_dir, std::istream& in, const std::string& input_name,
                     std::ostream& out, const std::string& device, int64_t batch_size)>
      predict;
  // Optional, for tasks with PEFT adapters: evaluate / predict with extra adapter
  // directories loaded on the run's base model, the last one active (--adapter).
  std::function<nlohmann::json(const std::string& run_dir, const std::string& data_path,
                               const std::vector<std::string>& overrides, const std::string& device,
                               const std::vector<std::string>& adapters)>
      evaluate_with_adapters;
  std::function<void(const std::string& run_dir, std::istream& in, const std::string& input_name,
                     std::ostream& out, const std::string& device, int64_t batch_size,
                     const std::vector<std::string>& adapters)>
      predict_with_adapters;
  // Optional: folds a PEFT run's adapter into its base and writes a plain run to out_dir.
  std::function<nlohmann::json(const std::string& run_dir, const std::string& out_dir,
                               const std::vector<std::string>& adapters)>
      merge;
  // Optional: writes a self-contained TorchScript bundle of a trained run to out_dir
  // (attune export); returns a summary. overwrite replaces an existing bundle there.
  // int8: Linear layers as int8 dynamic quantization (CPU inference).
  std::function<nlohmann::json(const std::string& run_dir, const std::string& out_dir, bool overwrite, bool int8)>
      export_bundle;
  // Optional, with export_bundle: predict_run's input and output from a bundle alone
  // (attune predict --bundle).
  std::function<void(const std::string& bundle_dir, std::istream& in, const std::string& input_name,
                     std::ostream& out, const std::string& device, int64_t batch_size)>
      predict_bundle;
  // Optional, with export_bundle: a bundle behind attune serve.
  std::function<serving::Predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size)>
      serve_bundle;
  // attune eval without --data evaluates the run's own held-out cases (recommendation).
  bool evaluates_own_split = false;
};

// Fails naming `key` with the known tasks when `name` is not one.
const TaskEntry& find_task(const std::string& name, const std::string& key);
const std::vector<TaskEntry>& all_tasks();
// The task of a run directory's config.json; fails naming the directory or file.
const TaskEntry& task_of_run(const std::string& run_dir);
// The task named by a bundle's manifest.json (the full check of the bundle comes when it
// is loaded); fails naming the directory or file.
const TaskEntry& task_of_bundle(const std::string& bundle_dir);

}  // namespace attune::tasks
