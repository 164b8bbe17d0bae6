// What a text classifier looked at: per-head attention of a layer, attention rollout
// over all layers, and the prediction, as JSON; and a self-contained HTML heat map.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace attune::classification {

// {"text", "tokens", "label", "probabilities", "layer", "heads": [H][T][T],
//  "rollout": [T][T], "importance": [T]} where importance is the rollout row the head
// reads (the [CLS] row for cls pooling, the mean of the real tokens' rows otherwise).
// layer: 0-based, negative counts from the last (-1 = last); out of range fails naming --layer.
nlohmann::json explain_text(const std::string& run_dir, const std::string& text, int64_t layer, const std::string& device);

// A 2-D tensor as a JSON list of rows of numbers (the explanations' matrices).
nlohmann::json matrix(const torch::Tensor& m);

// The tokens shaded by importance, and each head of the chosen layer as a table.
std::string explanation_html(const nlohmann::json& explanation);

}  // namespace attune::classification
