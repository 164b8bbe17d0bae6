#include "tasks/report/series.h"

#include "tasks/report/html.h"

#include <algorithm>
#include <cstdlib>

namespace attune::report {

Series nested_series_of(const RunFiles& run, const std::string& split, const std::vector<std::string>& path,
                        const std::string& name) {
  Series s{name, {}};
  for (const MetricsLine& line : run.metrics) {
    if (line.split != split) continue;
    const nlohmann::json* v = &line.values;
    for (const std::string& key : path) {
      if (!v->is_object() || !v->contains(key)) {
        v = nullptr;
        break;
      }
      v = &(*v)[key];
    }
    if (v && v->is_number()) s.points.push_back({line.step, v->get<double>()});
  }
  return s;
}

Series series_of(const RunFiles& run, const std::string& split, const std::string& key) {
  return nested_series_of(run, split, {key}, split + "/" + key);
}

std::vector<std::string> numeric_keys(const RunFiles& run, const std::string& split) {
  std::vector<std::string> keys;
  for (const MetricsLine& line : run.metrics) {
    if (line.split != split) continue;
    for (const auto& [key, value] : line.values.items()) {
      if (value.is_number() && std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  return keys;
}

bool metric_order(const std::string& a, const std::string& b) {
  const size_t at_a = a.find('@'), at_b = b.find('@');
  if (at_a == std::string::npos || at_b == std::string::npos || a.substr(0, at_a) != b.substr(0, at_b)) return a < b;
  return std::atof(a.c_str() + at_a + 1) < std::atof(b.c_str() + at_b + 1);
}

std::vector<Evaluation> evaluations(const RunFiles& run) {
  std::vector<Evaluation> out;
  if (run.results.is_object()) {
    if (run.results.contains("test") && run.results["test"].is_object()) out.push_back({"test set", run.results["test"]});
    if (run.results.contains("valid") && run.results["valid"].is_object() && !run.results["valid"].empty()) {
      std::string what = "validation set, best step";
      if (run.results.contains("best_step") && run.results["best_step"].is_number()) {
        what += " " + number(run.results["best_step"].get<double>(), 12);
      }
      out.push_back({what, run.results["valid"]});
    }
    return out;
  }
  for (auto it = run.metrics.rbegin(); it != run.metrics.rend(); ++it) {
    if (it->split == "valid") {
      out.push_back({"latest validation, step " + number(it->step, 12), it->values});
      break;
    }
  }
  return out;
}

}  // namespace attune::report
