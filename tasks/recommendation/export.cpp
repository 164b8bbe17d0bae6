#include "tasks/recommendation/export.h"
#include "tasks/engine/run_dir.h"

#include "core/error.h"
#include "core/files.h"
#include "models/common/parameters.h"
#include "models/recommender/script_export.h"
#include "tasks/bundle/bundle.h"
#include "tasks/recommendation/model.h"
#include "tasks/recommendation/recommend.h"
#include "tasks/recommendation/task.h"

#include <torch/script.h>

#include <filesystem>

namespace fs = std::filesystem;
using nlohmann::json;

namespace attune::recommendation {
namespace {

const char* kRecTask = "recommendation";
const char* kItems = "items.json";

// Scores of the bundle's module for cases, from the tensor the run's model reads
// (history_batch), so both give the same numbers.
torch::Tensor module_scores(torch::jit::Module& module, const std::vector<const EvalCase*>& cases, int64_t history,
                            const torch::Device& device) {
  std::vector<const std::vector<int64_t>*> histories;
  for (const EvalCase* c : cases) histories.push_back(&c->history);
  return module.forward({history_batch(histories, history, false, 0).to(device)}).toTensor();
}

// The script against the model on the run's first histories, cut at different lengths
// (shorter and longer than the model reads), so an export bug fails the export.
double self_check(RecModel& model, torch::jit::Module& module, const std::vector<std::vector<int64_t>>& sequences,
                  int64_t history) {
  torch::NoGradGuard no_grad;
  std::vector<EvalCase> cases;
  for (size_t u = 0; u < std::min<size_t>(6, sequences.size()); ++u) {
    const auto& s = sequences[u];
    cases.push_back({static_cast<int64_t>(u), 0, std::vector<int64_t>(s.begin(), s.begin() + 1 + u * s.size() / 6), {}});
  }
  std::vector<const EvalCase*> batch;
  for (const auto& c : cases) batch.push_back(&c);
  return (module_scores(module, batch, history, torch::kCPU) - model.scorer()(batch)).abs().max().item<double>();
}

}  // namespace

json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite) {
  // The export runs on the CPU: bundles are device-neutral (torch::jit::load places them).
  LoadedRun run = load_run(run_dir, {}, "cpu");
  const std::string& name = run.model.name;
  if (name != "sasrec" && name != "bert4rec") {
    fail(run_dir, "export: a '" + name + "' model cannot be exported to a bundle yet (sasrec and bert4rec can); "
                  "use attune recommend on the run directory");
  }
  script::ClassNames names;
  torch::jit::Module module = models::script_recommender(*run.model.net, names);
  const int64_t history = models::script_history_length(*run.model.net), items = run.data.catalog.num_items();
  const double max_diff = self_check(run.model, module, run.data.sequences, history);
  TORCH_CHECK(max_diff < 1e-4, "export: the scripted model differs from the run's by ", max_diff);

  const int64_t parameters = models::parameter_count(*run.model.net);
  json manifest = bundle::base_manifest(kRecTask);
  manifest["model"] = {{"file", bundle::kModel}, {"format", "torchscript"}, {"dtype", "float32"},
                       {"method", "forward"}, {"kind", name}, {"parameters", parameters}};
  manifest["inputs"] = json::array({{{"name", "items"}, {"dtype", "int64"}, {"shape", {"batch", "length"}},
                                     {"values", "item indices (items.json) of each history, oldest first, left-padded "
                                                "with 0; length <= max_history"}}});
  manifest["outputs"] = json::array({{{"name", "scores"}, {"dtype", "float32"}, {"shape", {"batch", items + 2}},
                                      {"values", "column i scores item index i for the next item; columns 0 (padding) "
                                                 "and num_items + 1 ([MASK]) hold float32's lowest value"}}});
  manifest["items"] = {{"file", kItems}, {"count", items},
                       {"index", "the i-th id in the file (from 0) is item index i + 1; index 0 is padding"}};
  manifest["num_items"] = items;
  manifest["max_history"] = history;
  manifest["usage"] = "map the history's item ids to indices, keep the newest max_history, left-pad with 0; rank "
                      "the scores without the history's own items (attune's default)";

  bundle::write_bundle(out_dir, overwrite, manifest, [&](const std::string& dir) {
    module.save((fs::path(dir) / bundle::kModel).string());
    fs::copy_file(engine::RunDir(run_dir).config(), engine::RunDir(dir).config());
    const std::vector<std::string> ids(run.data.catalog.items.begin() + 1, run.data.catalog.items.end());
    io::write_json_atomic((fs::path(dir) / kItems).string(), ids);
  });
  json summary = {{"run_dir", run_dir}, {"bundle", out_dir}, {"task", kRecTask}, {"model", name},
                  {"parameters", parameters}, {"items", items}, {"torch_version", bundle::torch_version()},
                  {"check_max_abs_diff", max_diff}, {"dtype", "float32"}};
  summary.update(bundle::files_summary(out_dir));
  return summary;
}

namespace {

// What ranking from a bundle needs, checked and on its device.
struct RecBundle {
  bundle::Bundle b;
  Catalog catalog;
  int64_t history = 0;
  torch::Device device = torch::kCPU;

  CaseScorer scorer() {
    return [this](const std::vector<const EvalCase*>& cases) { return module_scores(b.module, cases, history, device); };
  }
};

std::shared_ptr<RecBundle> load_rec_bundle(const std::string& bundle_dir, const std::string& device) {
  auto rb = std::make_shared<RecBundle>();
  rb->b = bundle::load_bundle(bundle_dir, kRecTask);
  const std::string manifest = (fs::path(bundle_dir) / bundle::kManifest).string();
  std::string items_file;
  int64_t count = 0;
  try {
    rb->history = bundle::manifest_key(rb->b, "max_history").get<int64_t>();
    items_file = bundle::manifest_key(rb->b, "items").at("file").get<std::string>();
    count = bundle::manifest_key(rb->b, "num_items").get<int64_t>();
  } catch (const json::exception& e) {
    fail(manifest, std::string("invalid value: ") + e.what());
  }
  if (rb->history < 1) fail(manifest, "max_history must be >= 1");
  const std::string items_path = bundle::bundle_path(rb->b, items_file, "items.file");
  try {
    for (const auto& item : io::read_json(items_path)) rb->catalog.add_item(item.get<std::string>());
  } catch (const json::exception& e) {
    fail(items_path, std::string("expected a list of item ids: ") + e.what());
  }
  if (rb->catalog.num_items() != count) {
    fail(items_path, "holds " + std::to_string(rb->catalog.num_items()) + " items, manifest.json says " +
                         std::to_string(count));
  }
  rb->device = bundle::place_bundle(rb->b, device);
  return rb;
}

}  // namespace

void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device, int64_t batch_size, int64_t top_k) {
  const auto rb = load_rec_bundle(bundle_dir, device);
  recommend_lines(
      in, input_name, out, batch_size,
      [&](const json& request, const std::string& where) {
        return parse_request(request, rb->catalog, nullptr, top_k, where);
      },
      rb->scorer(), rb->catalog);
}

serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size) {
  const std::shared_ptr<RecBundle> rb = load_rec_bundle(bundle_dir, device);
  serving::Predictor p;
  p.task = kRecTask;
  p.info = {{"num_items", rb->catalog.num_items()}, {"max_history", rb->history}, {"k", kDefaultTopK},
            {"device", rb->device.str()}};
  p.check = [rb](const json& input, const std::string& where) {
    parse_request(input, rb->catalog, nullptr, kDefaultTopK, where);
  };
  p.run = [rb, batch_size](const std::vector<json>& inputs) {
    std::vector<Request> requests;
    for (size_t i = 0; i < inputs.size(); ++i) {
      requests.push_back(parse_request(inputs[i], rb->catalog, nullptr, kDefaultTopK, "inputs[" + std::to_string(i) + "]"));
    }
    return recommend(requests, rb->scorer(), rb->catalog, batch_size);
  };
  return p;
}

}  // namespace attune::recommendation
