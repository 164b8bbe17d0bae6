// `attune convert` for image classification: `--run RUN --to-hf DIR` writes a run's ViT as a
// ViTForImageClassification folder transformers loads (models::write_hf_vit); `--from-hf DIR
// --out RUN` makes a run of a ViTForImageClassification folder, for eval, predict and export.
#pragma once
#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace attune::image_classification {

// out_dir must not exist or be empty. Returns the CLI's summary.
nlohmann::json export_hf(const std::string& run_dir, const std::string& out_dir);
// hf_dir's classifier as an image-classification run in out_dir (which must not exist or be
// empty); a ViTModel folder, which has no classifier, fails. Returns the CLI's summary.
nlohmann::json import_hf(const std::string& hf_dir, const std::string& out_dir, std::ostream& log);

}  // namespace attune::image_classification
