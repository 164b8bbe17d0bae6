// The sections that only some tasks have, chosen by what their metrics hold rather than
// by task name, so a task registered by an embedding program gets them too.
#include "tasks/report/sections.h"

#include "tasks/report/chart.h"
#include "tasks/report/html.h"
#include "tasks/report/series.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace attune::report {
namespace {

// Beyond this many classes a matrix is unreadable on a page; the per-class table stays.
constexpr size_t kMaxMatrixClasses = 40;

bool has_number(const nlohmann::json& j, const std::string& key) { return j.contains(key) && j[key].is_number(); }

// The labels and the k x k counts, or a reason they cannot be drawn.
bool read_matrix(const nlohmann::json& m, std::vector<std::string>& labels, std::vector<std::vector<double>>& counts,
                 std::string& problem) {
  if (!m.contains("labels") || !m["labels"].is_array()) return problem = "no labels", false;
  for (const auto& l : m["labels"]) labels.push_back(l.is_string() ? l.get<std::string>() : l.dump());
  const nlohmann::json& c = m["confusion_matrix"];
  if (!c.is_array() || c.size() != labels.size()) return problem = "confusion_matrix is not one row per label", false;
  for (const auto& row : c) {
    if (!row.is_array() || row.size() != labels.size()) return problem = "confusion_matrix is not square", false;
    counts.emplace_back();
    for (const auto& v : row) {
      if (!v.is_number()) return problem = "confusion_matrix holds a non-number", false;
      counts.back().push_back(v.get<double>());
    }
  }
  return true;
}

// Row-normalised: each true class's cells sum to 1, so rare classes read as clearly as common ones.
std::string heat_colour(double share) {
  const double t = std::clamp(share, 0.0, 1.0);
  const auto mix = [t](int from, int to) { return static_cast<int>(std::lround(from + (to - from) * t)); };
  return "rgb(" + std::to_string(mix(247, 8)) + "," + std::to_string(mix(251, 69)) + "," + std::to_string(mix(255, 148)) + ")";
}

std::string confusion_table(const std::vector<std::string>& labels, const std::vector<std::vector<double>>& counts,
                            const std::string& id) {
  std::ostringstream out;
  out << "<div class=\"scroll\"><table class=\"confusion\" id=\"" << escape(id) << "\" data-classes=\"" << labels.size()
      << "\"><thead><tr><th class=\"corner\">true \\ predicted</th>";
  for (const std::string& l : labels) out << "<th class=\"col\" title=\"predicted " << escape(l) << "\">" << escape(l) << "</th>";
  out << "</tr></thead><tbody>\n";
  for (size_t r = 0; r < labels.size(); ++r) {
    double row_total = 0;
    for (double v : counts[r]) row_total += v;
    out << "<tr><th class=\"row\">" << escape(labels[r]) << "</th>";
    for (size_t c = 0; c < labels.size(); ++c) {
      const double share = row_total > 0 ? counts[r][c] / row_total : 0;
      out << "<td data-cell=\"" << r << "," << c << "\" data-count=\"" << number(counts[r][c], 12) << "\" class=\""
          << (r == c ? "diag" : "off") << (share > 0.55 ? " dark" : "") << "\" style=\"background:" << heat_colour(share)
          << "\" title=\"true " << escape(labels[r]) << ", predicted " << escape(labels[c]) << ": "
          << number(counts[r][c], 12) << " (" << number(100 * share, 3) << "% of true " << escape(labels[r]) << ")\">"
          << number(counts[r][c], 12) << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</tbody></table></div>\n";
  return out.str();
}

std::string per_class_table(const nlohmann::json& m, const std::vector<std::string>& labels, const std::string& id) {
  const nlohmann::json& per_class = m["per_class"];
  std::vector<std::string> order = labels;
  for (const auto& [label, v] : per_class.items()) {
    if (std::find(order.begin(), order.end(), label) == order.end()) order.push_back(label);
  }
  std::ostringstream out;
  out << "<table class=\"per-class\" id=\"" << escape(id) << "\"><thead><tr><th>class</th><th>precision</th><th>recall</th>"
      << "<th>F1</th><th>support</th></tr></thead><tbody>\n";
  for (const std::string& label : order) {
    if (!per_class.contains(label) || !per_class[label].is_object()) continue;
    const nlohmann::json& c = per_class[label];
    out << "<tr data-class=\"" << escape(label) << "\"><th>" << escape(label) << "</th>";
    for (const char* key : {"precision", "recall", "f1"}) {
      if (has_number(c, key)) {
        const double v = c[key].get<double>();
        out << "<td class=\"bar\" style=\"--v:" << number(std::clamp(v, 0.0, 1.0) * 100, 4) << "%\" title=\"" << key
            << " of " << escape(label) << ": " << number(v, 8) << "\">" << number(v, 4) << "</td>";
      } else {
        out << "<td></td>";
      }
    }
    out << "<td>" << (has_number(c, "support") ? number(c["support"].get<double>(), 12) : "") << "</td></tr>\n";
  }
  out << "</tbody></table>\n";
  return out.str();
}

}  // namespace

std::string classification_section(const RunFiles& run) {
  std::ostringstream out;
  bool any = false;
  for (const Evaluation& e : evaluations(run)) {
    if (!e.metrics.contains("confusion_matrix")) continue;
    // The test set when there is one; the validation set otherwise.
    if (any) break;
    any = true;
    out << "<section id=\"classification\"><h2>Classification <span class=\"sub\">" << escape(e.what) << "</span></h2>\n";
    std::vector<std::string> labels;
    std::vector<std::vector<double>> counts;
    std::string problem;
    out << "<div class=\"two\">\n<div><h3>Confusion matrix</h3>\n";
    if (!read_matrix(e.metrics, labels, counts, problem)) {
      out << "<p class=\"missing\">Not drawn: " << escape(problem) << ".</p>";
    } else if (labels.size() > kMaxMatrixClasses) {
      out << "<p class=\"missing\">" << labels.size() << " classes: too many to draw; see the per-class table.</p>";
    } else {
      out << "<p class=\"hint\">Rows are true classes, columns predictions; the colour is the share of the row.</p>"
          << confusion_table(labels, counts, "confusion");
    }
    out << "</div>\n<div><h3>Per-class precision, recall and F1</h3>\n";
    if (e.metrics.contains("per_class") && e.metrics["per_class"].is_object()) {
      out << per_class_table(e.metrics, labels, "per-class");
    } else {
      out << "<p class=\"missing\">No per-class metrics.</p>";
    }
    out << "</div>\n</div>\n";
  }
  if (!any) return "";
  // Per-class F1 over the evaluations, when there were several.
  std::vector<std::string> labels;
  for (const MetricsLine& line : run.metrics) {
    if (line.split != "valid" || !line.values.contains("per_class") || !line.values["per_class"].is_object()) continue;
    for (const auto& [label, v] : line.values["per_class"].items()) {
      if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    }
  }
  std::vector<Series> f1;
  if (labels.size() <= 8) {  // one colour each
    for (const std::string& l : labels) f1.push_back(nested_series_of(run, "valid", {"per_class", l, "f1"}, "F1 " + l));
  }
  if (!f1.empty() && f1.front().points.size() > 1) {
    out << "<div class=\"grid\">" << render(LineChart{"per-class-f1", "Per-class F1 over steps (validation)", "step", "F1", f1})
        << "</div>\n";
  }
  out << "</section>\n";
  return out.str();
}

std::string translation_section(const RunFiles& run) {
  const Series bleu = series_of(run, "valid", "bleu"), chrf = series_of(run, "valid", "chrf");
  if (bleu.points.empty() && chrf.points.empty() && run.samples.empty()) return "";
  std::ostringstream out;
  out << "<section id=\"translation\"><h2>Translation</h2>\n<div class=\"grid\">"
      << render(LineChart{"bleu-chrf", "BLEU and chrF over steps (validation, greedy)", "step", "score (0-100)", {bleu, chrf}})
      << "</div>\n<h3>Sample translations <span class=\"sub\">test set, the best weights</span></h3>\n";
  if (run.samples.empty()) {
    out << "<p class=\"missing\">No samples.jsonl: the run had no data.test, has not finished, or was written by an "
           "older attune.</p>\n";
  } else {
    out << "<table class=\"samples\" id=\"samples\"><thead><tr><th>source</th><th>reference</th><th>translation</th></tr></thead><tbody>\n";
    for (const auto& s : run.samples) {
      out << "<tr class=\"sample\">";
      for (const char* key : {"source", "reference", "translation"}) out << "<td>" << escape(s[key].get<std::string>()) << "</td>";
      out << "</tr>\n";
    }
    out << "</tbody></table>\n";
  }
  out << "</section>\n";
  return out.str();
}

std::string recommendation_section(const RunFiles& run) {
  const std::vector<Evaluation> evals = evaluations(run);
  std::vector<int> ks;
  for (const Evaluation& e : evals) {
    for (const auto& [key, v] : e.metrics.items()) {
      if (key.rfind("hr@", 0) == 0 && v.is_number()) {
        const int k = std::atoi(key.c_str() + 3);
        if (k > 0 && std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
      }
    }
  }
  if (ks.empty()) return "";
  std::sort(ks.begin(), ks.end());
  std::ostringstream out;
  out << "<section id=\"recommendation\"><h2>Recommendation: HR@K and NDCG@K</h2>\n<div class=\"two\">\n"
      << "<table class=\"metrics\" id=\"ranking\"><thead><tr><th>K</th>";
  for (const Evaluation& e : evals) out << "<th>HR@K, " << escape(e.what) << "</th><th>NDCG@K, " << escape(e.what) << "</th>";
  out << "</tr></thead><tbody>\n";
  for (int k : ks) {
    out << "<tr data-k=\"" << k << "\"><th>" << k << "</th>";
    for (const Evaluation& e : evals) {
      for (const std::string key : {"hr@", "ndcg@"}) {
        const std::string name = key + std::to_string(k);
        out << "<td>" << (has_number(e.metrics, name) ? number(e.metrics[name].get<double>(), 4) : "") << "</td>";
      }
    }
    out << "</tr>\n";
  }
  out << "</tbody></table>\n";
  BarChart bars{"ranking-bars", "HR@K and NDCG@K (" + evals.front().what + ")", "K", "score", {}, {}};
  Series hr{"HR@K", {}}, ndcg{"NDCG@K", {}};
  for (int k : ks) {
    const std::string h = "hr@" + std::to_string(k), n = "ndcg@" + std::to_string(k);
    bars.groups.push_back(std::to_string(k));
    const nlohmann::json& m = evals.front().metrics;
    hr.points.push_back({static_cast<double>(k), has_number(m, h) ? m[h].get<double>() : 0.0});
    ndcg.points.push_back({static_cast<double>(k), has_number(m, n) ? m[n].get<double>() : 0.0});
  }
  bars.series = {hr, ndcg};
  out << render(bars) << "</div>\n</section>\n";
  return out.str();
}

std::string images_section(const RunFiles& run) {
  const bool image_task = run.config.value("task", "") == "image-classification";
  if (!run.misclassified_listed && !image_task) return "";
  std::ostringstream out;
  out << "<section id=\"misclassified\"><h2>Misclassified test images</h2>\n";
  if (run.misclassified.empty() && run.misclassified_listed) {
    out << "<p class=\"missing\">None: every test image was classified correctly.</p>\n";
  } else if (run.misclassified.empty()) {
    out << "<p class=\"missing\">No misclassified/index.jsonl: the run had no test set, has not finished, or was "
           "written by an older attune.</p>\n";
  } else {
    out << "<div class=\"thumbs\">\n";
    for (const MisclassifiedImage& m : run.misclassified) {
      out << "<figure class=\"thumb\" title=\"true " << escape(m.label) << ", predicted " << escape(m.predicted) << " (p = "
          << number(m.probability, 6) << ")\">";
      if (m.png.empty()) {
        out << "<div class=\"no-image\">missing</div>";
      } else {
        out << "<img alt=\"misclassified image\" src=\"data:image/png;base64," << base64(m.png) << "\">";
      }
      out << "<figcaption><span class=\"truth\">" << escape(m.label) << "</span> &rarr; <span class=\"pred\">"
          << escape(m.predicted) << "</span> <span class=\"p\">" << number(m.probability, 2) << "</span></figcaption></figure>\n";
    }
    out << "</div>\n<p class=\"hint\">true label &rarr; prediction, and the probability the model gave it.</p>\n";
  }
  out << "</section>\n";
  return out.str();
}

}  // namespace attune::report
