#include "tasks/image_classification/hf_export.h"

#include "core/error.h"
#include "models/common/parameters.h"
#include "models/vit/checkpoint.h"
#include "tasks/image_classification/task.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::image_classification {

nlohmann::json export_hf(const std::string& run_dir, const std::string& out_dir) {
  if (fs::exists(out_dir) && (!fs::is_directory(out_dir) || !fs::is_empty(out_dir))) {
    fail(out_dir, "output directory exists and is not empty");
  }
  ImageRun run = load_image_run(run_dir, {}, "cpu");
  try {
    models::write_hf_vit(out_dir, *run.model, run.names, run.mean, run.std);
  } catch (const UserError& e) {
    fail(run_dir, std::string("cannot export to transformers: ") + e.what());
  }
  return {{"from", run_dir},
          {"out", out_dir},
          {"architecture", "ViTForImageClassification"},
          {"labels", run.names},
          {"parameters", models::parameter_count(*run.model)}};
}

}  // namespace attune::image_classification
