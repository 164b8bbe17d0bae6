#include "core/error.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <iostream>


namespace attune::cli {

int merge_command(const Args& args) {
  cxxopts::Options options("attune merge",
                           "Fold a PEFT run's adapter into its base model and write a plain run directory "
                           "(full weights) that eval, predict and export use like any other.");
  options.add_options()
      ("r,run", "PEFT run directory written by `attune train`", cxxopts::value<std::string>())
      ("o,out", "Output run directory (must not exist or be empty)", cxxopts::value<std::string>())
      ("adapter", "Merge this adapter directory instead of the run's own", cxxopts::value<std::vector<std::string>>());
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune merge", "--run DIR is required");
  if (!parsed.count("out")) fail("attune merge", "--out DIR is required");
  const std::string run_dir = parsed["run"].as<std::string>();
  const tasks::Task& task = tasks::task_of_run(run_dir);
  if (!task.has_adapters()) fail("attune merge", "task '" + task.name() + "' has no PEFT adapters to merge");
  tasks::RunRequest run{run_dir, "cpu", {}, {}};
  if (parsed.count("adapter")) run.adapters = parsed["adapter"].as<std::vector<std::string>>();
  std::cout << task.merge(run, parsed["out"].as<std::string>()).dump(2) << std::endl;
  return 0;
}

}  // namespace attune::cli
