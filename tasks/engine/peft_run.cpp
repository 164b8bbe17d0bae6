#include "tasks/engine/peft_run.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "tasks/engine/run_dir.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::engine {

void load_peft_base(const std::string& run_dir, torch::nn::Module& model) {
  const std::string base = RunDir(run_dir).base_weights();
  if (!fs::exists(base)) fail(run_dir, "PEFT run has no base_model.safetensors");
  formats::load_module_tensors(model, formats::load_safetensors(base), base);
}

void load_peft_run(const std::string& run_dir, torch::nn::Module& model, peft::PeftModel& adapters,
                   const std::vector<std::string>& extra_adapters) {
  load_peft_base(run_dir, model);
  if (!fs::exists(fs::path(run_dir) / "adapter_model.safetensors")) {
    fail(run_dir, "run has no adapter_model.safetensors (training did not reach an evaluation)");
  }
  adapters.load_adapter(run_dir, "default");
  for (const auto& dir : extra_adapters) {
    std::string name = fs::path(dir).lexically_normal().filename().string();
    if (name.empty()) name = fs::path(dir).lexically_normal().parent_path().filename().string();
    adapters.load_adapter(dir, name);
  }
}

void PeftTrainTask::after_optimizer_step(int64_t global_step, int64_t total_steps) {
  if (peft_) peft_->after_optimizer_step(global_step, total_steps);
}

formats::NamedTensors PeftTrainTask::checkpoint_tensors() {
  return peft_ ? peft_->state_tensors() : TrainTask::checkpoint_tensors();
}

void PeftTrainTask::load_checkpoint_tensors(const formats::SafetensorsFile& file, const std::string& path) {
  peft_ ? peft_->load_state_tensors(file, path) : TrainTask::load_checkpoint_tensors(file, path);
}

void PeftTrainTask::save_best(const std::string& run_dir) {
  peft_ ? peft_->save_adapter(run_dir, "default", task_type_) : TrainTask::save_best(run_dir);
}

void PeftTrainTask::load_best(const std::string& run_dir) {
  if (!peft_) TrainTask::load_best(run_dir);
}

torch::Tensor PeftTrainTask::with_peft_regularizer(const torch::Tensor& loss) const {
  const torch::Tensor term = peft_ ? peft_->regularizer() : torch::Tensor();
  return term.defined() ? loss + term : loss;
}

}  // namespace attune::engine
