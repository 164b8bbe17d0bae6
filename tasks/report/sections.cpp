#include "tasks/report/sections.h"

#include "tasks/report/chart.h"
#include "tasks/report/html.h"
#include "tasks/report/series.h"

#include <algorithm>
#include <ctime>
#include <set>
#include <sstream>

namespace attune::report {
namespace {

// Validation keys that are sizes, settings or timings, not quality: no curve.
const std::set<std::string> kNotCurves = {"step",      "epoch",      "elapsed_s",  "examples",      "cases",
                                          "tokens",    "translated", "blocks",     "masked_tokens", "seconds",
                                          "beam_size", "length_penalty", "sentences_per_s", "sentences"};

// Scores between 0 and 1 share one chart.
bool is_rate(const std::string& key) {
  static const std::set<std::string> rates = {"accuracy", "macro_f1", "masked_accuracy", "mrr"};
  return rates.count(key) || key.rfind("hr@", 0) == 0 || key.rfind("ndcg@", 0) == 0 ||
         key.rfind("recall@", 0) == 0 || key.rfind("precision@", 0) == 0;
}

std::string string_at(const nlohmann::json& j, const std::vector<std::string>& path) {
  const nlohmann::json* v = &j;
  for (const std::string& key : path) {
    if (!v->is_object() || !v->contains(key)) return "";
    v = &(*v)[key];
  }
  if (v->is_string()) return v->get<std::string>();
  if (v->is_null()) return "";
  return v->dump();
}

std::string card(const std::string& label, const std::string& value, const std::string& id = "") {
  return "<div class=\"card\"" + (id.empty() ? "" : " data-metric=\"" + escape(id) + "\"") + "><div class=\"card-value\">" +
         escape(value) + "</div><div class=\"card-label\">" + escape(label) + "</div></div>";
}

std::string value_text(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.dump();  // counts and bytes, every digit
  if (v.is_number()) return number(v.get<double>(), 6);
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string seconds_text(double s) {
  std::ostringstream out;
  if (s < 60) {
    out << number(s, 3) << " s";
  } else if (s < 3600) {
    out << static_cast<int>(s / 60) << " min " << static_cast<int>(s) % 60 << " s";
  } else {
    out << static_cast<int>(s / 3600) << " h " << static_cast<int>(s / 60) % 60 << " min";
  }
  return out.str();
}

}  // namespace

std::string header_section(const RunFiles& run) {
  const std::string task = string_at(run.config, {"task"});
  const bool finished = run.results.is_object() && !run.results.value("interrupted", false);
  double last_step = 0, elapsed = -1;
  for (const MetricsLine& line : run.metrics) {
    last_step = std::max(last_step, line.step);
    if (line.values.contains("elapsed_s") && line.values["elapsed_s"].is_number()) {
      elapsed = line.values["elapsed_s"].get<double>();
    }
  }
  std::ostringstream out;
  out << "<header>\n<div class=\"title-row\"><h1>" << escape(task.empty() ? "attune run" : task) << "</h1>"
      << "<span class=\"status " << (finished ? "done" : "open") << "\" id=\"run-status\">"
      << (finished ? "finished" : run.results.is_object() ? "interrupted" : "not finished") << "</span></div>\n"
      << "<p class=\"run-dir\"><code>" << escape(run.dir) << "</code></p>\n";
  std::string model = string_at(run.config, {"model", "name"});
  const std::string preset = string_at(run.config, {"model", "preset"});
  if (!preset.empty()) model += (model.empty() ? "" : " ") + preset;
  const std::string peft = string_at(run.config, {"peft", "method"});
  out << "<dl class=\"facts\">";
  const auto fact = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) out << "<div><dt>" << escape(k) << "</dt><dd>" << escape(v) << "</dd></div>";
  };
  fact("model", model);
  fact("PEFT", peft == "none" ? "" : peft);
  fact("epochs", string_at(run.config, {"train", "epochs"}));
  fact("batch size", string_at(run.config, {"train", "batch_size"}));
  fact("learning rate", string_at(run.config, {"train", "lr"}));
  fact("schedule", string_at(run.config, {"train", "schedule"}));
  fact("device", string_at(run.config, {"device"}));
  fact("seed", string_at(run.config, {"seed"}));
  out << "</dl>\n<div class=\"cards\">";
  out << card(finished ? "steps" : "steps so far", number(run.results.is_object() && run.results.contains("steps")
                                                               ? run.results.value("steps", 0.0)
                                                               : last_step,
                                                           12));
  if (elapsed >= 0) out << card("training time", seconds_text(elapsed));
  const std::vector<Evaluation> evals = evaluations(run);
  if (!evals.empty()) {
    const Evaluation& e = evals.front();
    for (const char* key : {"accuracy", "macro_f1", "bleu", "chrf", "hr@10", "ndcg@10", "masked_accuracy", "perplexity"}) {
      if (e.metrics.contains(key) && e.metrics[key].is_number()) {
        out << card(std::string(key) + " (" + e.what + ")", number(e.metrics[key].get<double>(), 4), key);
      }
    }
  }
  if (run.results.is_object() && run.results.contains("parameters") && run.results["parameters"].is_number()) {
    out << card("parameters", number(run.results["parameters"].get<double>(), 12));
  }
  out << "</div>\n</header>\n";
  return out.str();
}

std::string notes_section(const RunFiles& run) {
  if (run.notes.empty()) return "";
  std::ostringstream out;
  out << "<section class=\"notes\" id=\"notes\"><h2>Notes</h2><ul>";
  for (const std::string& n : run.notes) out << "<li>" << escape(n) << "</li>";
  out << "</ul></section>\n";
  return out.str();
}

std::string training_section(const RunFiles& run) {
  std::ostringstream charts;
  charts << render(LineChart{"loss", "Loss", "step", "loss", {series_of(run, "train", "loss"), series_of(run, "valid", "loss")}})
         << render(LineChart{"lr", "Learning rate schedule", "step", "learning rate", {series_of(run, "train", "lr")}})
         << render(LineChart{"throughput", "Throughput", "step",
                             string_at(run.config, {"task"}) == "translation" ? "target tokens/s" : "items/s",
                             {series_of(run, "train", "items_per_s")}})
         << render(LineChart{"grad-norm", "Gradient norm (before clipping)", "step", "L2 norm",
                             {series_of(run, "train", "grad_norm")}});
  const std::string body = charts.str();
  std::ostringstream out;
  out << "<section id=\"training\"><h2>Training</h2>\n";
  if (body.empty()) {
    out << "<p class=\"missing\">No training lines in metrics.jsonl yet.</p>\n";
  } else {
    out << "<div class=\"grid\">\n" << body << "</div>\n";
  }
  out << "</section>\n";
  return out.str();
}

std::string evaluation_section(const RunFiles& run) {
  std::vector<Series> rates;
  std::ostringstream others;
  std::vector<std::string> keys = numeric_keys(run, "valid");
  std::stable_sort(keys.begin(), keys.end(), metric_order);
  for (const std::string& key : keys) {
    if (kNotCurves.count(key) || key == "loss" || key == "bleu" || key == "chrf") continue;  // loss: with training's
    if (is_rate(key)) {
      rates.push_back(series_of(run, "valid", key));
    } else {
      others << render(LineChart{"valid-" + key, "Validation " + key, "step", key, {series_of(run, "valid", key)}});
    }
  }
  const std::string body = render(LineChart{"valid-scores", "Validation scores", "step", "score", rates}) + others.str();
  std::ostringstream out;
  out << "<section id=\"evaluation\"><h2>Evaluation</h2>\n";
  if (body.empty()) {
    out << "<p class=\"missing\">No validation scores in metrics.jsonl yet"
        << (numeric_keys(run, "valid").empty() ? "" : " (only the loss, above)") << ".</p>\n";
  } else {
    out << "<div class=\"grid\">\n" << body << "</div>\n";
  }
  out << "</section>\n";
  return out.str();
}

std::string results_section(const RunFiles& run) {
  std::ostringstream out;
  out << "<section id=\"results\"><h2>Final metrics</h2>\n";
  if (!run.results.is_object()) {
    out << "<p class=\"missing\">No results.json: the run has not finished.</p></section>\n";
    return out.str();
  }
  // Scalars only: per-class numbers and matrices have their own section.
  const auto scalars = [](const nlohmann::json& j) {
    std::vector<std::string> keys;
    if (!j.is_object()) return keys;
    for (const auto& [k, v] : j.items()) {
      if (v.is_primitive() && !v.is_null()) keys.push_back(k);
    }
    return keys;
  };
  const nlohmann::json none = nlohmann::json::object();
  const nlohmann::json& valid = run.results.contains("valid") ? run.results["valid"] : none;
  const nlohmann::json& test = run.results.contains("test") ? run.results["test"] : none;
  std::vector<std::string> rows = scalars(valid);
  for (const std::string& k : scalars(test)) {
    if (std::find(rows.begin(), rows.end(), k) == rows.end()) rows.push_back(k);
  }
  std::stable_sort(rows.begin(), rows.end(), metric_order);
  out << "<div class=\"two\"><table class=\"metrics\" id=\"final-metrics\"><thead><tr><th>metric</th><th>validation (best)</th>"
      << "<th>test</th></tr></thead><tbody>\n";
  for (const std::string& k : rows) {
    out << "<tr><th>" << escape(k) << "</th>";
    for (const nlohmann::json* j : {&valid, &test}) {
      out << "<td>" << (j->is_object() && j->contains(k) ? escape(value_text((*j)[k])) : "") << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</tbody></table>\n<table class=\"metrics\" id=\"run-summary\"><thead><tr><th>run</th><th></th></tr></thead><tbody>\n";
  for (const std::string& k : scalars(run.results)) {
    out << "<tr><th>" << escape(k) << "</th><td>" << escape(value_text(run.results[k])) << "</td></tr>\n";
  }
  out << "</tbody></table></div>\n</section>\n";
  return out.str();
}

std::string config_section(const RunFiles& run) {
  return "<section id=\"config\"><h2>Config</h2>\n<details><summary>config.json: the complete run config "
         "(defaults merged, presets resolved)</summary>\n<pre>" +
         escape(run.config.dump(2)) + "</pre></details>\n</section>\n";
}

}  // namespace attune::report
