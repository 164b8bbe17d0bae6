#include "tasks/classification/metrics.h"

#include <stdexcept>

namespace attune::classification {

nlohmann::json classification_metrics(const std::vector<int64_t>& predicted, const std::vector<int64_t>& truth,
                                      const std::vector<std::string>& labels) {
  if (predicted.size() != truth.size()) throw std::invalid_argument("classification_metrics: size mismatch");
  const size_t k = labels.size();
  std::vector<std::vector<int64_t>> confusion(k, std::vector<int64_t>(k, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    confusion.at(truth[i]).at(predicted[i])++;
    correct += predicted[i] == truth[i];
  }
  nlohmann::json per_class = nlohmann::json::object();
  double f1_sum = 0.0;
  for (size_t c = 0; c < k; ++c) {
    int64_t tp = confusion[c][c], predicted_c = 0, actual_c = 0;
    for (size_t j = 0; j < k; ++j) {
      predicted_c += confusion[j][c];
      actual_c += confusion[c][j];
    }
    // scikit-learn's convention: an undefined ratio (0/0) counts as 0.
    const double precision = predicted_c ? static_cast<double>(tp) / predicted_c : 0.0;
    const double recall = actual_c ? static_cast<double>(tp) / actual_c : 0.0;
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    f1_sum += f1;
    per_class[labels[c]] = {{"precision", precision}, {"recall", recall}, {"f1", f1}, {"support", actual_c}};
  }
  const double n = static_cast<double>(truth.size());
  return {{"examples", truth.size()},
          {"accuracy", truth.empty() ? 0.0 : correct / n},
          {"macro_f1", k ? f1_sum / k : 0.0},
          {"per_class", per_class},
          {"labels", labels},
          {"confusion_matrix", confusion}};
}

}  // namespace attune::classification
