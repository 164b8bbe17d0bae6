// The run config: a user's JSON file merged onto a task's defaults, `--set key=value`
// overrides applied (core/config.h), and the result parsed into the typed sections
// (tasks/engine/train_config.h and the task's own check), as `attune train` does
// before it touches a run directory. The input is the file, then one override a line.
#include "core/error.h"
#include "core/files.h"
#include "tasks/engine/train_config.h"
#include "tasks/registry.h"
#include "tests/fuzz/common.h"

#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = attune::fuzz::split_parts(data, size, 2);
  std::vector<std::string> overrides;
  std::istringstream lines(parts[1]);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) overrides.push_back(line);
  }
  try {
    const nlohmann::json user = attune::io::read_json(attune::fuzz::write_scratch("run.json", parts[0]));
    const nlohmann::json config = attune::tasks::train_config(user, "run.json", "text-classification", overrides);
    const attune::tasks::Task& task = attune::tasks::task_of_config(config);
    (void)attune::engine::run_keys(config);
    (void)attune::engine::train_section(config);
    task.check(config);
  } catch (const attune::UserError&) {
  }
  return 0;
}
