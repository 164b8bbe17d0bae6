#include "tasks/image_classification/hf_export.h"

#include "tasks/engine/peft_run.h"
#include "core/error.h"
#include "core/files.h"
#include "models/common/parameters.h"
#include "models/vit/checkpoint.h"
#include "tasks/image_classification/task.h"

namespace attune::image_classification {

nlohmann::json export_hf(const std::string& run_dir, const std::string& out_dir) {
  io::require_empty_output_dir(out_dir);
  ImageRun run = load_image_run(run_dir, {}, "cpu");
  const nlohmann::json peft = engine::merge_for_hf(run_dir, run.peft.get());
  try {
    models::write_hf_vit(out_dir, *run.model, run.names, run.mean, run.std);
  } catch (const UserError& e) {
    fail(run_dir, std::string("cannot export to transformers: ") + e.what());
  }
  return {{"from", run_dir},
          {"out", out_dir},
          {"architecture", "ViTForImageClassification"},
          {"labels", run.names},
          {"parameters", models::parameter_count(*run.model)},
          {"peft", peft}};
}

}  // namespace attune::image_classification
