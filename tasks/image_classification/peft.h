// PEFT for the image task: adapters on the ViT whose files name its modules as
// transformers' ViTForImageClassification does, so that they load in PEFT
// (PeftModel.from_pretrained over that model) and PEFT's load here.
#pragma once
#include "models/peft/peft_model.h"
#include "models/vit/vit.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace attune::image_classification {

// PEFT's ViT image-classification example configures no task_type: "" writes null.
inline const char* kPeftTaskType = "";

// Every PeftModel on a run's ViT comes from here, so all of them read and write the same names.
std::shared_ptr<peft::PeftModel> make_peft_model(const models::VisionTransformer& model);

// Adapter "default" for a resolved "peft" section, active and the only trainable part
// with the head, which is always among its modules_to_save (PEFT's "classifier").
std::shared_ptr<peft::PeftModel> add_run_adapter(const models::VisionTransformer& model, const nlohmann::json& resolved);

// Folds a PEFT run's adapter (or the last of `adapters`, adapter directories) into its
// base and writes a plain run to out_dir (attune merge).
nlohmann::json merge_run(const std::string& run_dir, const std::string& out_dir, const std::vector<std::string>& adapters);

}  // namespace attune::image_classification
