#include "tasks/image_classification/hf_export.h"

#include "tasks/engine/peft_run.h"
#include "core/error.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "models/common/parameters.h"
#include "models/vit/checkpoint.h"
#include "tasks/engine/run_dir.h"
#include "tasks/image_classification/init.h"
#include "tasks/image_classification/task.h"

#include <filesystem>

namespace fs = std::filesystem;

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

nlohmann::json import_hf(const std::string& hf_dir, const std::string& out_dir, std::ostream& log) {
  io::require_empty_output_dir(out_dir);
  const std::string source = "hf:" + fs::absolute(hf_dir).lexically_normal().string();
  const models::VitCheckpoint ck = models::read_vit_checkpoint(source, "--from-hf");
  const int64_t classes = ck.options.num_classes();
  if (classes == 0) {
    fail(hf_dir, "has no classifier (a ViTModel folder): fine-tune it with --set init=hf:" + hf_dir +
                     " instead of converting it");
  }
  nlohmann::json config = default_config();
  write_init_settings(config, ck, source, "--from-hf", log);
  config["run_dir"] = out_dir;
  config["init"] = source;
  nlohmann::json& data = config["data"];
  data["image_size"] = ck.options.image_size();
  data["num_classes"] = classes;
  if (!ck.labels.empty()) data["labels"] = ck.labels;
  const Config typed = parse_config(config);
  models::VisionTransformer model = make_vit(typed.model, ck.options.image_size(), classes);
  models::load_vit_checkpoint(*model, ck, source, /*with_head=*/true);
  const engine::RunDir out(out_dir);
  fs::create_directories(out_dir);
  formats::save_safetensors(out.weights(), formats::module_tensors(*model));
  // Last: a directory without config.json is visibly unfinished.
  io::write_json_atomic(out.config(), config);
  return {{"from", hf_dir},
          {"out", out_dir},
          {"task", "image-classification"},
          {"architecture", "ViTForImageClassification"},
          {"labels", label_names(typed.data, classes)},
          {"parameters", models::parameter_count(*model)}};
}

}  // namespace attune::image_classification
