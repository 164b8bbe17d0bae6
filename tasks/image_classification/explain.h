// What a Vision Transformer looked at: per-head attention of a layer and attention
// rollout over all layers, read as a map over the patch grid, with the prediction (JSON);
// and a PNG of each image beside its heat-map overlay.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::image_classification {

// images: uint8 (N, H, W); indices name them in the output. Returns {"layer", "grid",
// "images": [{"index", "label", "probabilities", "heads": [H][g][g], "importance": [g][g]}]}
// where importance is the rollout row the head reads (the class token's for cls pooling,
// the mean of the patch rows otherwise) over the g x g patches, and heads the same row of
// each head of `layer` (0-based; negative counts from the last).
nlohmann::json explain_images(const std::string& run_dir, const torch::Tensor& images,
                              const std::vector<int64_t>& indices, int64_t layer, const std::string& device);

// uint8 (2H*scale, N*W*scale, 3): each image (top) above its importance overlay (bottom).
torch::Tensor explanation_overlay(const torch::Tensor& images, const nlohmann::json& explanation, int64_t scale);

// "FILE" (image 0), "FILE:5" or "FILE:0,3,7": an IDX images file and image indices.
std::pair<std::string, std::vector<int64_t>> parse_image_input(const std::string& input);

}  // namespace attune::image_classification
