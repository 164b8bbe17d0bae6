// `attune convert --run RUN --to-hf DIR` for an image-classification run: its ViT as a
// ViTForImageClassification folder transformers loads (models::write_hf_vit).
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace attune::image_classification {

// out_dir must not exist or be empty. Returns the CLI's summary.
nlohmann::json export_hf(const std::string& run_dir, const std::string& out_dir);

}  // namespace attune::image_classification
