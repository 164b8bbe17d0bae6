// The C++ API for programs that embed attune (docs/cpp-api.md): a run's whole life in
// a few calls, the same that `attune train`, `eval`, `predict` and `export` make.
//
//   #include "tasks/api.h"
//   nlohmann::json config = attune::api::make_config({{"task", "text-classification"}},
//       {"data.train=train.csv", "run_dir=runs/topics", "peft.method=lora"});
//   attune::api::train(config);
//   attune::api::TrainedRun run("runs/topics");
//   nlohmann::json metrics = run.evaluate("test.csv");
//   std::vector<nlohmann::json> rows = run.predict({"win money now"});
//   run.export_bundle("bundles/topics");
//
// Bad input (a missing file, an unknown config key, a run directory that is not one)
// throws attune::UserError (core/error.h) with the one-line message the CLI prints;
// anything else thrown is a bug. The lower layers (tasks/registry.h, tasks/task.h,
// models/, data/) stay available for what this header does not cover.
#pragma once
#include "core/error.h"
#include "tasks/bundle/precision.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace attune::api {

// The version of the library (the project's), e.g. "0.1.0".
std::string version();

// A complete run config: the defaults of the task that `user` names in "task"
// (default "text-classification"), then the keys of `user`, then each "key.path=value"
// of `overrides` (as `--set`); `user` may be {} (null). Unknown keys and bad values throw UserError naming them.
// `attune config --task NAME` prints the keys with their defaults.
nlohmann::json make_config(const nlohmann::json& user, const std::vector<std::string>& overrides = {});

struct TrainOptions {
  bool overwrite = false;  // replace a run already in the config's run_dir
  bool resume = false;     // continue the interrupted run in run_dir (config: its saved one)
  // Where progress lines go; null = std::cerr (core/log.h's default).
  std::ostream* log = nullptr;
  // Asked between steps; returning true stops the run with a checkpoint (resume later).
  std::function<bool(int64_t global_step)> stop_requested;
};

// Trains the run that `config` (from make_config) describes, in its run_dir: data,
// tokenizer, model and PEFT method, the engine's loop with evaluation and checkpoints,
// then test metrics of the best weights. Returns the summary `attune train` prints
// (run_dir, steps, best_step, valid, test, ...).
nlohmann::json train(const nlohmann::json& config, const TrainOptions& options = {});

// Continues the interrupted run in `run_dir` with its saved config.
nlohmann::json resume(const std::string& run_dir, const TrainOptions& options = {});

// A trained run directory, put to use. Loading the model happens per call, so a
// TrainedRun is cheap to make; for many predictions, pass them in one call.
class TrainedRun {
 public:
  // Throws UserError when `run_dir` holds no run. device: "" = the run's own, or
  // "cpu", "cuda", "cuda:N", "auto".
  explicit TrainedRun(std::string run_dir, std::string device = "");

  const std::string& dir() const { return run_dir_; }
  // The task's name, e.g. "text-classification".
  std::string task() const;
  // The run's saved config (config.json).
  nlohmann::json config() const;

  // Metrics on a labelled file in the run's data format (CSV, TSV, JSONL), as
  // `attune eval --data` prints them; "" = the run's own held-out split where the task
  // keeps one (recommendation).
  nlohmann::json evaluate(const std::string& data_path = "") const;

  // One result per input, in order, as `attune predict` writes them: for
  // classification {"label": ..., "probabilities": {...}}. Each input is one line of
  // what `attune predict --input` reads: a text, or a JSON object (text pairs, context
  // columns). An input with a line break throws UserError naming its index.
  std::vector<nlohmann::json> predict(const std::vector<std::string>& inputs, int64_t batch_size = 64) const;

  // A TorchScript bundle in out_dir (attune export): model.pt, config, tokenizer,
  // manifest with SHA-256 of every file. Returns the manifest summary. precision: float32,
  // int8 (CPU) or bfloat16 weights. adapter_base: the bundle also holds the base weights that
  // `attune serve --adapter` serves adapters on.
  nlohmann::json export_bundle(const std::string& out_dir, bool overwrite = false,
                               bundle::Precision precision = bundle::Precision::kFloat32,
                               bool adapter_base = false) const;

 private:
  std::string run_dir_;
  std::string device_;
};

// predict() on a bundle written by export_bundle, with LibTorch and the bundle alone.
std::vector<nlohmann::json> predict_bundle(const std::string& bundle_dir, const std::vector<std::string>& inputs,
                                           const std::string& device = "", int64_t batch_size = 64);

}  // namespace attune::api
