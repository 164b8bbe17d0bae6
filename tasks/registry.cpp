#include "tasks/registry.h"

#include "data/error.h"
#include "tasks/classification/task.h"

namespace attune::tasks {

const std::vector<TaskEntry>& all_tasks() {
  // Built on first use, so registration does not depend on static initialisation order.
  static const std::vector<TaskEntry> tasks = {
      {"text-classification", "sequence (or sequence-pair) classification of text",
       classification::default_config, classification::train_run, classification::evaluate_run,
       classification::predict_run},
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

}  // namespace attune::tasks
