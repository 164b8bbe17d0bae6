// Classification metrics: accuracy, macro-F1, per-class precision/recall/F1 and the
// confusion matrix (rows = true label, columns = predicted label).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attune::classification {

nlohmann::json classification_metrics(const std::vector<int64_t>& predicted, const std::vector<int64_t>& truth,
                                      const std::vector<std::string>& labels);

}  // namespace attune::classification
