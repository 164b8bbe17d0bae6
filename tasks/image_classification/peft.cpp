#include "tasks/image_classification/peft.h"

#include "tasks/engine/peft_run.h"
#include "core/error.h"
#include "core/files.h"
#include "models/peft/config.h"
#include "models/vit/checkpoint.h"
#include "tasks/engine/run_dir.h"
#include "tasks/image_classification/task.h"

namespace attune::image_classification {

std::shared_ptr<peft::PeftModel> make_peft_model(const models::VisionTransformer& model) {
  auto peft = std::make_shared<peft::PeftModel>(model.ptr());
  peft->set_file_names(models::vit_hf_path);
  peft->set_model_type("vit");
  return peft;
}

std::shared_ptr<peft::PeftModel> add_run_adapter(const models::VisionTransformer& model, const nlohmann::json& resolved) {
  std::shared_ptr<peft::PeftModel> peft = make_peft_model(model);
  peft->add_adapter("default", peft::with_saved_module(resolved, "classifier"), "peft");
  return peft;
}

nlohmann::json merge_run(const std::string& run_dir, const std::string& out_dir, const std::vector<std::string>& adapters) {
  ImageRun run = load_image_run(run_dir, {}, "cpu", adapters);
  return engine::write_merged_run(run_dir, out_dir, run.config, run.peft.get(), *run.model, {});
}

}  // namespace attune::image_classification
