#include "tasks/registry.h"

#include "core/error.h"
#include "core/files.h"
#include "tasks/classification/export.h"
#include "tasks/classification/task.h"
#include "tasks/image_classification/task.h"
#include "tasks/pretraining/task.h"
#include "tasks/recommendation/task.h"
#include "tasks/translation/export.h"
#include "tasks/translation/task.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::tasks {

const std::vector<TaskEntry>& all_tasks() {
  // Built on first use, so registration does not depend on static initialisation order.
  static const std::vector<TaskEntry> tasks = {
      {"text-classification", "sequence (or sequence-pair) classification of text",
       classification::default_config, classification::train_run,
       [](const std::string& run, const std::string& data, const std::vector<std::string>& overrides,
          const std::string& device) { return classification::evaluate_run(run, data, overrides, device); },
       [](const std::string& run, std::istream& in, const std::string& name, std::ostream& out,
          const std::string& device, int64_t batch) { classification::predict_run(run, in, name, out, device, batch); },
       classification::evaluate_run, classification::predict_run, classification::merge_run,
       classification::export_run, classification::predict_bundle, classification::bundle_predictor},
      {"mlm", "masked-language-model pretraining of a BERT encoder on plain text (an init for fine-tuning)",
       pretraining::default_config, pretraining::train_run, pretraining::evaluate_run, pretraining::predict_run,
       /*evaluate_with_adapters=*/nullptr, /*predict_with_adapters=*/nullptr, /*merge=*/nullptr,
       /*export_bundle=*/nullptr, /*predict_bundle=*/nullptr, /*serve_bundle=*/nullptr},
      {"translation", "Transformer encoder-decoder translation with a joint SentencePiece vocabulary",
       translation::default_config, translation::train_run, translation::evaluate_run, translation::predict_run,
       /*evaluate_with_adapters=*/nullptr, /*predict_with_adapters=*/nullptr, /*merge=*/nullptr,
       translation::export_run, translation::predict_bundle, translation::bundle_predictor},
      {"image-classification", "image classification with a Vision Transformer on IDX images (Fashion-MNIST)",
       image_classification::default_config, image_classification::train_run, image_classification::evaluate_run,
       image_classification::predict_run, /*evaluate_with_adapters=*/nullptr, /*predict_with_adapters=*/nullptr,
       /*merge=*/nullptr, /*export_bundle=*/nullptr, /*predict_bundle=*/nullptr, /*serve_bundle=*/nullptr},
      {"recommendation", "next-item recommendation from user histories (sasrec, bert4rec, context; popular and item-knn baselines)",
       recommendation::default_config, recommendation::train_run, recommendation::evaluate_run,
       [](const std::string& run, std::istream& in, const std::string& name, std::ostream& out,
          const std::string& device, int64_t batch) {
         recommendation::recommend_run(run, in, name, out, device, batch, /*top_k=*/10);
       },
       /*evaluate_with_adapters=*/nullptr, /*predict_with_adapters=*/nullptr, /*merge=*/nullptr,
       /*export_bundle=*/nullptr, /*predict_bundle=*/nullptr, /*serve_bundle=*/nullptr, /*evaluates_own_split=*/true},
  };
  return tasks;
}

const TaskEntry& find_task(const std::string& name, const std::string& key) {
  std::string known;
  for (const auto& t : all_tasks()) {
    if (t.name == name) return t;
    known += (known.empty() ? "" : ", ") + t.name;
  }
  fail(key, "unknown task '" + name + "' (known: " + known + ")");
}

const TaskEntry& task_of_run(const std::string& run_dir) {
  engine::require_run_dir(run_dir);
  const std::string path = (fs::path(run_dir) / "config.json").string();
  const nlohmann::json config = io::read_json(path);
  if (!config.contains("task") || !config["task"].is_string()) fail(path, "missing key 'task'");
  return find_task(config["task"].get<std::string>(), path + ": task");
}

const TaskEntry& task_of_bundle(const std::string& bundle_dir) {
  if (!fs::is_directory(bundle_dir)) fail(bundle_dir, "bundle directory does not exist");
  const std::string path = (fs::path(bundle_dir) / "manifest.json").string();
  if (!fs::exists(path)) fail(bundle_dir, "not an attune bundle (no manifest.json)");
  const nlohmann::json manifest = io::read_json(path);
  if (!manifest.is_object() || !manifest.contains("task")) fail(path, "missing key 'task'");
  if (!manifest["task"].is_string()) fail(path, "task must be a string");
  const TaskEntry& task = find_task(manifest["task"].get<std::string>(), path + ": task");
  if (!task.predict_bundle) fail(path, "task '" + task.name + "' has no bundle predictor");
  return task;
}

}  // namespace attune::tasks
