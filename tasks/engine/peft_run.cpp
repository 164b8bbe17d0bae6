#include "tasks/engine/peft_run.h"

#include "core/error.h"
#include "core/files.h"
#include "models/peft/config.h"
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

void load_run_weights(const std::string& run_dir, torch::nn::Module& model, peft::PeftModel* adapters,
                      const std::vector<std::string>& extra_adapters) {
  if (adapters == nullptr) {
    if (!extra_adapters.empty()) fail(run_dir, "--adapter needs a PEFT run (this run fine-tuned every weight)");
    RunDir(run_dir).load_weights(model);
    return;
  }
  load_peft_base(run_dir, model);
  if (!fs::exists(fs::path(run_dir) / "adapter_model.safetensors")) {
    fail(run_dir, "run has no adapter_model.safetensors (training did not reach an evaluation)");
  }
  adapters->load_adapter(run_dir, "default");
  for (const auto& dir : extra_adapters) {
    std::string name = fs::path(dir).lexically_normal().filename().string();
    if (name.empty()) name = fs::path(dir).lexically_normal().parent_path().filename().string();
    adapters->load_adapter(dir, name);
  }
}

void save_peft_start(const std::string& run_dir, nlohmann::json& config, peft::PeftModel& adapters) {
  config["peft"] = adapters.config("default");
  formats::save_safetensors(RunDir(run_dir).base_weights(), adapters.base_tensors());
}

nlohmann::json write_merged_run(const std::string& run_dir, const std::string& out_dir, const nlohmann::json& run_config,
                                peft::PeftModel* adapters, torch::nn::Module& model,
                                const std::vector<std::string>& copied) {
  if (adapters == nullptr) fail(run_dir, "not a PEFT run: its model.safetensors already holds every weight");
  const std::string adapter = adapters->active();
  const nlohmann::json method = adapters->config(adapter)["method"];
  const peft::ParameterCount before = adapters->count();
  adapters->merge_and_unload();
  io::require_empty_output_dir(out_dir);
  fs::create_directories(out_dir);
  nlohmann::json config = run_config;
  config["peft"] = peft::default_section();
  config["run_dir"] = out_dir;
  const RunDir to(out_dir);
  io::write_json_atomic(to.config(), config);
  for (const auto& name : copied) {
    fs::copy(fs::path(run_dir) / name, fs::path(out_dir) / name, fs::copy_options::recursive);
  }
  to.save_weights(model);
  return {{"run_dir", run_dir}, {"out", out_dir}, {"adapter", adapter}, {"method", method},
          {"adapter_params", before.trainable}, {"params", before.total - before.trainable}};
}

nlohmann::json merge_for_hf(const std::string& run_dir, peft::PeftModel* adapters) {
  if (adapters == nullptr) return nullptr;
  const std::string method = adapters->config(adapters->active()).at("method").get<std::string>();
  if (!adapters->mergeable(adapters->active())) {
    fail(run_dir, "cannot export to transformers: " + method +
                      " adapters do not fold into the weights; give PEFT the run's adapter files instead");
  }
  adapters->merge_and_unload();
  return {{"method", method}, {"merged", true}};
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
