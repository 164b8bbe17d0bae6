#include "tasks/image_classification/peft.h"

#include "tasks/engine/peft_run.h"
#include "core/error.h"
#include "core/files.h"
#include "models/peft/config.h"
#include "models/peft/targets.h"
#include "models/vit/checkpoint.h"
#include "tasks/engine/run_dir.h"
#include "tasks/image_classification/task.h"

namespace attune::image_classification {

namespace {

using models::VitHfNames;

// The naming of transformers' ViT that an adapter's target_modules are written in: the
// one in which they select layers. Names both have ("layernorm_before", a regular
// expression over either) take the refactored one, which transformers 5.17 and PEFT 0.21
// load; a list that selects some layers only by old names and others only by new ones
// fits neither and fails.
VitHfNames names_of_targets(const models::VisionTransformerImpl& vit, const nlohmann::json& config,
                            const std::string& key) {
  const nlohmann::json targets = config.value("target_modules", nlohmann::json());
  const peft::ModuleMatcher matches(targets, key + ".target_modules");
  std::vector<std::string> by_legacy, by_refactored;
  for (const auto& item : vit.named_modules("", false)) {
    if (dynamic_cast<const models::LinearImpl*>(item.value().get()) == nullptr) continue;
    if (matches(models::vit_hf_path(item.key(), VitHfNames::legacy))) by_legacy.push_back(item.key());
    if (matches(models::vit_hf_path(item.key(), VitHfNames::refactored))) by_refactored.push_back(item.key());
  }
  if (by_refactored.empty() && !by_legacy.empty()) return VitHfNames::legacy;
  if (!by_refactored.empty() && !by_legacy.empty() && by_legacy != by_refactored) {
    fail(key + ".target_modules",
         "mixes transformers' two namings of ViT's layers: the old one (query, key, value, attention.output.dense, "
         "intermediate.dense, output.dense; vit.encoder.layer.N) and the one since its refactor (q_proj, k_proj, "
         "v_proj, o_proj, mlp.fc1, mlp.fc2; vit.layers.N); write them in one");
  }
  return VitHfNames::refactored;
}

}  // namespace

std::shared_ptr<peft::PeftModel> make_peft_model(const models::VisionTransformer& model) {
  auto peft = std::make_shared<peft::PeftModel>(model.ptr());
  const models::VisionTransformer vit = model;
  peft->set_file_names_by_config([vit](const nlohmann::json& config, const std::string& key) {
    const VitHfNames names = names_of_targets(*vit, config, key);
    return peft::PeftModel::FileNames([names](const std::string& path) { return models::vit_hf_path(path, names); });
  });
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
