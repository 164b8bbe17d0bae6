#include "tasks/classification/explain.h"

#include "core/error.h"
#include "models/attention/rollout.h"
#include "tasks/classification/run_model.h"
#include "tasks/classification/task.h"
#include "tasks/report/html.h"

#include <cstdio>
#include <sstream>

namespace attune::classification {
namespace {

std::string shade(double weight, double most) {
  const int alpha = static_cast<int>(255.0 * (most > 0 ? weight / most : 0.0) * 0.85);
  char color[64];
  std::snprintf(color, sizeof(color), "rgba(214,39,40,%.3f)", alpha / 255.0);
  return color;
}

}  // namespace

nlohmann::json matrix(const torch::Tensor& m) {
  const torch::Tensor c = m.to(torch::kDouble).contiguous();
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < c.size(0); ++i) {
    const double* p = c[i].data_ptr<double>();
    rows.push_back(std::vector<double>(p, p + c.size(1)));
  }
  return rows;
}

nlohmann::json explain_text(const std::string& run_dir, const std::string& text, int64_t layer, const std::string& device) {
  LoadedRun run = load_run(run_dir, {}, device);
  TextClassifier& model = run.model.model;
  if (model->encoder().context_size() > 0) {
    fail(run_dir, "explain: this run's attention reads context columns, and explain takes a text only for now");
  }
  const torch::Device dev = model->parameters().front().device();
  const text::Encoding enc = run.tokenizer->encode(text, nullptr, run.max_length);
  const auto t = static_cast<int64_t>(enc.ids.size());
  const torch::Tensor ids = torch::tensor(enc.ids).view({1, t}).to(dev);
  const torch::Tensor types = torch::tensor(enc.type_ids).view({1, t}).to(dev);
  const torch::Tensor mask = torch::ones({1, t}, torch::kLong).to(dev);
  torch::NoGradGuard no_grad;
  const models::EncoderOutput out = model->encoder().encode(ids, types, mask, true);
  const auto layers = static_cast<int64_t>(out.attentions.size());
  if (layers == 0) fail(run_dir, "the encoder returned no attention weights");
  const int64_t chosen = layer < 0 ? layers + layer : layer;
  if (chosen < 0 || chosen >= layers) {
    fail("--layer", std::to_string(layer) + " is outside the encoder's " + std::to_string(layers) + " layers");
  }
  std::vector<torch::Tensor> per_layer;
  // Prefix tuning adds key positions; the rollout follows the real tokens only.
  for (const auto& a : out.attentions) per_layer.push_back(a[0].narrow(-1, a.size(-1) - t, t).cpu());
  const torch::Tensor rollout = models::attention_rollout(per_layer);
  const torch::Tensor importance = model->options().pooling() == "cls" ? rollout[0] : rollout.mean(0);
  const torch::Tensor probs = torch::softmax(model->forward(ids, types, mask).to(torch::kFloat), -1).cpu();
  nlohmann::json result = prediction_rows(probs, run.labels).front();
  std::vector<std::string> tokens;
  for (int64_t id : enc.ids) tokens.push_back(run.tokenizer->id_to_token(id));
  nlohmann::json heads = nlohmann::json::array();
  for (int64_t h = 0; h < per_layer[chosen].size(0); ++h) heads.push_back(matrix(per_layer[chosen][h]));
  result["text"] = text;
  result["tokens"] = tokens;
  result["layer"] = chosen;
  result["heads"] = heads;
  result["rollout"] = matrix(rollout);
  const torch::Tensor imp = importance.to(torch::kDouble).contiguous();
  result["importance"] = std::vector<double>(imp.data_ptr<double>(), imp.data_ptr<double>() + imp.numel());
  return result;
}

std::string explanation_html(const nlohmann::json& e) {
  std::ostringstream html;
  const auto tokens = e.at("tokens").get<std::vector<std::string>>();
  const auto importance = e.at("importance").get<std::vector<double>>();
  double most = 0.0;
  for (double v : importance) most = std::max(most, v);
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>attune explain</title>\n"
       << "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
       << ".tok{display:inline-block;padding:2px 4px;margin:2px;border-radius:3px}"
       << "table{border-collapse:collapse;margin:1em 0}td,th{font-size:11px;padding:2px 4px;text-align:center}"
       << "th{font-weight:normal;color:#555}</style></head><body>\n";
  html << "<h2>" << report::escape(e.at("label").get<std::string>()) << "</h2>\n<p>";
  for (const auto& [label, p] : e.at("probabilities").items()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.4f", p.get<double>());
    html << report::escape(label) << ": " << buf << "&nbsp;&nbsp; ";
  }
  html << "</p>\n<h3>Attention rollout (all layers)</h3>\n<p>";
  for (size_t i = 0; i < tokens.size(); ++i) {
    char title[64];
    std::snprintf(title, sizeof(title), "%.4f", importance[i]);
    html << "<span class=\"tok\" title=\"" << title << "\" style=\"background:" << shade(importance[i], most) << "\">"
         << report::escape(tokens[i]) << "</span>";
  }
  html << "</p>\n";
  const auto& heads = e.at("heads");
  for (size_t h = 0; h < heads.size(); ++h) {
    html << "<h3>Layer " << e.at("layer").get<int64_t>() << ", head " << h << " (rows: queries, columns: keys)</h3>\n<table><tr><th></th>";
    for (const auto& tok : tokens) html << "<th>" << report::escape(tok) << "</th>";
    html << "</tr>\n";
    for (size_t i = 0; i < tokens.size(); ++i) {
      html << "<tr><th>" << report::escape(tokens[i]) << "</th>";
      for (size_t j = 0; j < tokens.size(); ++j) {
        const double w = heads[h][i][j].get<double>();
        char title[32];
        std::snprintf(title, sizeof(title), "%.3f", w);
        html << "<td title=\"" << title << "\" style=\"background:" << shade(w, 1.0) << "\">&nbsp;</td>";
      }
      html << "</tr>\n";
    }
    html << "</table>\n";
  }
  html << "</body></html>\n";
  return html.str();
}

}  // namespace attune::classification
