#include "tasks/registry.h"

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "tasks/bundle/bundle.h"
#include "tasks/classification/registration.h"
#include "tasks/engine/distributed.h"
#include "tasks/engine/train_config.h"
#include "tasks/image_classification/registration.h"
#include "tasks/pretraining/registration.h"
#include "tasks/report/report.h"
#include "tasks/recommendation/registration.h"
#include "tasks/translation/registration.h"

#include <filesystem>
#include <mutex>

namespace fs = std::filesystem;

namespace attune::tasks {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<Task>> tasks;
};

// Built on first use, so registration does not depend on static initialisation order.
Registry& registry() {
  static Registry* r = [] {
    auto* built = new Registry;
    built->tasks.push_back(classification::make_task());
    built->tasks.push_back(pretraining::make_task());
    built->tasks.push_back(translation::make_task());
    built->tasks.push_back(image_classification::make_task());
    built->tasks.push_back(recommendation::make_task());
    return built;
  }();
  return *r;
}

}  // namespace

void register_task(std::unique_ptr<Task> task) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& t : r.tasks) {
    if (t->name() == task->name()) fail("task", "a task named '" + task->name() + "' is already registered");
  }
  r.tasks.push_back(std::move(task));
}

std::vector<const Task*> all_tasks() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<const Task*> out;
  for (const auto& t : r.tasks) out.push_back(t.get());
  return out;
}

const Task& find_task(const std::string& name, const std::string& key) {
  std::vector<std::string> known;
  for (const Task* t : all_tasks()) {
    if (t->name() == name) return *t;
    known.push_back(t->name());
  }
  fail(key, "unknown task '" + name + "' (known: " + config::join(known) + ")");
}

const Task& task_of_config(const nlohmann::json& config) {
  const auto it = config.find("task");
  if (it == config.end() || !it->is_string()) {
    fail("task", "expected a task name, got " + (it == config.end() ? std::string("nothing") : config::type_name(*it)));
  }
  return find_task(it->get<std::string>(), "task");
}

const Task& task_of_run(const std::string& run_dir) {
  const engine::RunDir dir(run_dir);
  dir.require();
  const nlohmann::json config = io::read_json(dir.config());
  if (!config.contains("task") || !config["task"].is_string()) fail(dir.config(), "missing key 'task'");
  return find_task(config["task"].get<std::string>(), dir.config() + ": task");
}

const Task& task_of_bundle(const std::string& bundle_dir) {
  if (!fs::is_directory(bundle_dir)) fail(bundle_dir, "bundle directory does not exist");
  const std::string path = (fs::path(bundle_dir) / bundle::kManifest).string();
  if (!fs::exists(path)) fail(bundle_dir, "not an attune bundle (no manifest.json)");
  const nlohmann::json manifest = io::read_json(path);
  if (!manifest.is_object() || !manifest.contains("task")) fail(path, "missing key 'task'");
  if (!manifest["task"].is_string()) fail(path, "task must be a string");
  const Task& task = find_task(manifest["task"].get<std::string>(), path + ": task");
  if (!task.exports()) fail(path, "task '" + task.name() + "' has no bundle predictor");
  return task;
}

nlohmann::json train_config(const nlohmann::json& user, const std::string& source, const std::string& default_task,
                            const std::vector<std::string>& overrides) {
  const std::string name = user.contains("task") && user["task"].is_string() ? user["task"].get<std::string>()
                                                                             : default_task;
  nlohmann::json config = config::merge(find_task(name, source + ": task").default_config(), user, source);
  config["task"] = name;
  config::apply_overrides(config, overrides);
  return config;
}

nlohmann::json train(const nlohmann::json& config, const engine::TrainFlags& flags) {
  const Task& task = task_of_config(config);
  engine::Run run(config, flags);
  nlohmann::json summary = run.execute(task);
  // Rank 0 alone writes the run directory. An interrupted run gets its curves so far.
  // The run itself has succeeded by now, so a report that cannot be written is a warning.
  const bool main_rank = !flags.distributed || flags.distributed->is_main();
  if (main_rank && engine::train_section(config).report) {
    try {
      summary["report"] = report::write_report(run.dir().path());
    } catch (const std::exception& e) {
      run.log() << "report: not written: " << first_line(e.what()) << "\n";
    }
  }
  return summary;
}

}  // namespace attune::tasks
