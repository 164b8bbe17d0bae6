// The interface every task implements, and what the CLI and the C++ API call. A task
// is registered by name (tasks/registry.h); `attune train` merges the user's config
// onto its default_config() and hands the run to engine::Run, which calls the task's
// Recipe (check, prepare). Everything else is a trained run or bundle put to use.
#pragma once
#include "tasks/bundle/precision.h"
#include "tasks/engine/run.h"
#include "tasks/serving/adapters.h"
#include "tasks/serving/predictor.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace attune::tasks {

using bundle::Precision;

// A trained run, as eval, predict, explain and merge name it.
struct RunRequest {
  std::string run_dir;
  std::string device;                   // "" = the run's own
  std::vector<std::string> overrides;   // --set keys of the run's config
  std::vector<std::string> adapters;    // --adapter directories (PEFT tasks); the last is used
};

// Inputs in, one JSON (or text) line out per input, in input order.
struct PredictStreams {
  std::istream& in;
  std::string input_name;  // for error messages: a file name or "<stdin>"
  std::ostream& out;
  int64_t batch_size = 64;
  int64_t top_k = 10;  // recommendation: items per request
};

struct ExplainRequest {
  std::string input;      // a text, or for image runs FILE[:INDEX[,INDEX...]]
  int64_t layer = -1;     // whose heads are returned; negative counts from the last
  std::string html_path;  // text runs: a heat map page
  std::string png_path;   // image runs: overlays
  int64_t scale = 8;      // PNG pixels per image pixel
};

// `attune bench`: speed on synthetic batches (tasks/classification/speed.h).
struct BenchOptions {
  std::string mode = "train";  // "train": optimizer steps; "infer": throughput and latency
  int64_t seq_len = 128;
  int64_t batch_size = 32;
  int64_t warmup = 10;   // steps (or batches) before timing
  int64_t steps = 20;    // timed per repeat
  int64_t repeats = 5;   // the spread is over repeats
  int64_t latency_runs = 100;  // infer: single-example calls timed one by one
  int64_t vocab_size = 30522;  // BERT-base's, as the peer's BertConfig
  int64_t num_labels = 2;
  // Ablations that restore what the loop did before each speed change (docs/speed-notes.md):
  bool masked = false;           // one sequence a token short per batch, so every batch carries a mask
  bool sync_every_step = false;  // read the loss back after every step
  bool fused_optimizer = true;
  bool cuda_graphs = true;       // false: eager steps even where the config's train.cuda_graphs asks for graphs
  bool graph_collectives = true;  // false: data-parallel gradient sums outside the captured graphs
  // Fused paths switched off and on (models/common/fusion.h), for the record.
  std::vector<std::string> unfused;
  std::vector<std::string> fused;
  // Non-empty: after timing, `steps` more steps (infer: eager batches) are recorded as a
  // Chrome trace written here (LibTorch 2.x; tools/bench/kernel_breakdown.py reads it).
  std::string trace;
  // Under a launcher (docs/distributed.md): each rank times its share of data-parallel
  // steps of batch_size per rank, gradients summed as `attune train` sums them.
  std::shared_ptr<engine::Distributed> distributed;
};

class Task : public engine::Recipe {
 public:
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // Every key a run config of this task may set, with its default.
  virtual nlohmann::json default_config() const = 0;
  // One line per key of the default config, "section.key: help", from the same typed
  // sections that parse it (attune config --keys); empty for a task without them.
  virtual std::vector<std::string> config_help() const { return {}; }

  // Metrics of a trained run on a labelled file ("" = the run's own held-out cases,
  // where evaluates_own_split()).
  virtual nlohmann::json evaluate(const RunRequest& run, const std::string& data_path) const = 0;
  virtual void predict(const RunRequest& run, PredictStreams& io) const = 0;
  virtual bool evaluates_own_split() const { return false; }
  virtual bool has_adapters() const { return false; }

  // Optional capabilities; the defaults fail naming the task.
  // Folds a PEFT run's adapter into its base and writes a plain run to out_dir.
  virtual nlohmann::json merge(const RunRequest& run, const std::string& out_dir) const;
  // A self-contained TorchScript bundle of a trained run (attune export).
  virtual bool exports() const { return false; }
  // adapter_base: the bundle also holds the (for a PEFT run: unmerged) base's weights for
  // serve_adapters.
  virtual nlohmann::json export_bundle(const std::string& run_dir, const std::string& out_dir, bool overwrite,
                                       Precision precision, bool adapter_base) const;
  // predict() from a bundle alone, and a bundle behind attune serve.
  virtual void predict_bundle(const std::string& bundle_dir, const std::string& device, PredictStreams& io) const;
  virtual serving::Predictor serve_bundle(const std::string& bundle_dir, const std::string& device,
                                          int64_t batch_size) const;
  // A bundle's base model with PEFT adapters loaded and hot-swapped (attune serve --adapter).
  virtual serving::AdapterPredictor serve_adapters(const std::string& bundle_dir, const std::string& device) const;
  // What the model looked at for one input (attune explain); writes the request's HTML or PNG.
  virtual nlohmann::json explain(const RunRequest& run, const ExplainRequest& request) const;
  // attune bench on a run config of this task.
  virtual nlohmann::json bench(const nlohmann::json& config, const BenchOptions& options) const;
};

// export_bundle's flags for a task whose bundles are float32 models without adapters:
// --int8, --bf16 or --adapter-base fails naming the flag.
void refuse_precision_and_adapter_base(Precision precision, bool adapter_base);
// For a task whose bundles come in float32 and int8 only: --bf16 fails.
void refuse_bf16(Precision precision);

}  // namespace attune::tasks
