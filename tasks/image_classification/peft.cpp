#include "tasks/image_classification/peft.h"

#include "core/error.h"
#include "core/files.h"
#include "models/peft/config.h"
#include "models/vit/checkpoint.h"
#include "tasks/engine/run_dir.h"
#include "tasks/image_classification/task.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::image_classification {

std::shared_ptr<peft::PeftModel> make_peft_model(const models::VisionTransformer& model) {
  auto peft = std::make_shared<peft::PeftModel>(model.ptr());
  peft->set_file_names(models::vit_hf_path);
  return peft;
}

std::shared_ptr<peft::PeftModel> add_run_adapter(const models::VisionTransformer& model, const nlohmann::json& resolved) {
  std::shared_ptr<peft::PeftModel> peft = make_peft_model(model);
  peft->add_adapter("default", peft::with_saved_module(resolved, "classifier"), "peft");
  return peft;
}

nlohmann::json merge_run(const std::string& run_dir, const std::string& out_dir, const std::vector<std::string>& adapters) {
  ImageRun run = load_image_run(run_dir, {}, "cpu", adapters);
  if (!run.peft) fail(run_dir, "not a PEFT run: its model.safetensors already holds every weight");
  const std::string adapter = run.peft->active();
  const nlohmann::json method = run.peft->config(adapter)["method"];
  const peft::ParameterCount before = run.peft->count();
  run.peft->merge_and_unload();
  io::require_empty_output_dir(out_dir);
  fs::create_directories(out_dir);
  nlohmann::json config = run.config;
  config["peft"] = peft::default_section();
  config["run_dir"] = out_dir;
  const engine::RunDir to(out_dir);
  io::write_json_atomic(to.config(), config);
  to.save_weights(*run.model);
  return {{"run_dir", run_dir}, {"out", out_dir}, {"adapter", adapter}, {"method", method},
          {"adapter_params", before.trainable}, {"params", before.total - before.trainable}};
}

}  // namespace attune::image_classification
