// What every task does the same with PEFT: a run directory holds the frozen base
// (base_model.safetensors) beside its adapter in PEFT's files, and a trainer whose model
// carries an adapter checkpoints, saves and regularises through it.
#pragma once
#include "models/peft/peft_model.h"
#include "tasks/engine/task.h"

#include <memory>
#include <string>
#include <vector>

namespace attune::engine {

// Loads the run's frozen base into `model` (built bare, no adapter yet): what a PEFT run
// resumes from, and what eval starts from. Fails naming the run when the file is missing.
void load_peft_base(const std::string& run_dir, torch::nn::Module& model);

// A run's weights for inference. Full fine-tuning (adapters null): model.safetensors, and
// extra_adapters are refused. PEFT: the base, then its adapter "default" exactly as saved,
// then extra_adapters (adapter directories, each named by its directory name), the last one
// active, all on `adapters`, which wraps `model` and holds no adapter yet.
void load_run_weights(const std::string& run_dir, torch::nn::Module& model, peft::PeftModel* adapters,
                      const std::vector<std::string>& extra_adapters);

// A new PEFT run's start, before its config is saved: the adapter's resolved section (defaults
// and target modules filled in) goes into config["peft"], so the saved config rebuilds it, and
// the frozen base into base_model.safetensors, since only the adapter (and head) train.
void save_peft_start(const std::string& run_dir, nlohmann::json& config, peft::PeftModel& adapters);

// `attune merge`: folds the loaded PEFT run's active adapter into `model` and writes a plain
// run at out_dir (empty or new): the run's config without its peft section, the merged
// weights, and `copied` (paths in the run directory: tokenizer/, labels.json) as they are.
// Fails naming run_dir when `adapters` is null. Returns merge's summary.
nlohmann::json write_merged_run(const std::string& run_dir, const std::string& out_dir, const nlohmann::json& run_config,
                                peft::PeftModel* adapters, torch::nn::Module& model,
                                const std::vector<std::string>& copied);

// Before `--to-hf` of a PEFT run: folds the active adapter into the weights transformers
// gets (the adapter itself loads in PEFT as it is) and returns {"method", "merged": true}
// for the export's summary; null without adapters. Fails naming run_dir for methods that
// do not fold (bottleneck adapters).
nlohmann::json merge_for_hf(const std::string& run_dir, peft::PeftModel* adapters);

// A trainer whose model may carry a PEFT adapter (peft non-null): its checkpoints hold
// only the trainable tensors and the method's state, its best weights are the adapter in
// PEFT's files, and the method's step hook runs. Null peft: full fine-tuning, TrainTask's.
class PeftTrainTask : public TrainTask {
 public:
  // task_type: as PEFT names it in adapter_config.json ("SEQ_CLS"), "" for none (null).
  PeftTrainTask(std::shared_ptr<peft::PeftModel> peft, std::string task_type)
      : peft_(std::move(peft)), task_type_(std::move(task_type)) {}
  void after_optimizer_step(int64_t global_step, int64_t total_steps) override;
  formats::NamedTensors checkpoint_tensors() override;
  void load_checkpoint_tensors(const formats::SafetensorsFile& file, const std::string& path) override;
  // A PEFT run's best adapter is read back with its base by the task's loader.
  void save_best(const std::string& run_dir) override;
  void load_best(const std::string& run_dir) override;

 protected:
  // The loss plus the method's term (AdaLoRA's orthogonality), where it has one.
  torch::Tensor with_peft_regularizer(const torch::Tensor& loss) const;
  // False while the method works on the host between steps (no CUDA graphs then).
  bool peft_capturable() const { return !peft_ || peft_->capturable(); }

  std::shared_ptr<peft::PeftModel> peft_;

 private:
  std::string task_type_;
};

}  // namespace attune::engine
