// The run directory contract: the one place that spells the names of a run's files.
//
//   config.json        the complete run config (defaults merged, presets resolved)
//   model.safetensors  the best weights (a PEFT run: adapter files, plus base_model.safetensors)
//   tokenizer/         the run's tokenizer, as text::load_tokenizer reads it
//   labels.json        class names in id order (classification)
//   metrics.jsonl      one line per log step and evaluation
//   events.out.tfevents.attune   the same numbers for TensorBoard (tasks/engine/metrics_log.h)
//   results.json       the summary of a finished run (best validation, test metrics)
//   report.html        the run's report (tasks/report/report.h), written when training ends
//   samples.jsonl      translation: a few test-set translations by the best weights
//   misclassified/     image classification: a few misclassified test images (index.jsonl, PNGs)
//   checkpoint.json, checkpoint-NNNNNNNN/   resumable state (tasks/engine/checkpoint.h)
// A task may add files of its own (RunDir::file), which --overwrite leaves alone.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::engine {

class RunDir {
 public:
  explicit RunDir(std::string path);

  const std::string& path() const { return path_; }
  std::string config() const;
  std::string weights() const;
  std::string base_weights() const;  // the frozen base of a PEFT run
  std::string tokenizer() const;
  std::string labels() const;
  std::string metrics() const;
  std::string results() const;
  std::string report() const;
  std::string samples() const;              // translation
  std::string misclassified() const;        // image classification: the folder
  std::string misclassified_index() const;  // its index.jsonl
  // A task's own file in the run directory.
  std::string file(const std::string& name) const;

  // Makes a directory for a fresh run. A run already there is refused unless `overwrite`,
  // and then only what a run writes is set aside (a run_dir shared with other files keeps
  // them), in a folder that is returned ("" when there was no run): the new run's input is
  // checked only after this, and bad input must not cost the user the old run.
  std::string prepare_fresh(bool overwrite) const;
  // The run set aside back in place of whatever the new one wrote so far.
  void restore_replaced(const std::string& aside) const;
  void discard_replaced(const std::string& aside) const;
  // Fails unless the directory holds a run (config.json).
  void require() const;
  // config.json with `overrides` (--set) applied; its thread count takes effect.
  nlohmann::json read_config(const std::vector<std::string>& overrides = {}) const;
  // Loads the best weights into `module`; fails naming the run if training never wrote them.
  void load_weights(torch::nn::Module& module) const;
  void save_weights(torch::nn::Module& module) const;

 private:
  std::string path_;
};

}  // namespace attune::engine
