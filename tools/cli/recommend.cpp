#include "core/error.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <fstream>
#include <iostream>


namespace attune::cli {

int recommend_command(const Args& args) {
  cxxopts::Options options("attune recommend",
                           "Top items for user histories with a recommendation run. Input JSONL, one request a line: "
                           "{\"user\": ID} (a user of the run) or {\"history\": [ITEM, ...], \"features\": {...}}. "
                           "Output: one {\"items\": [{\"item\", \"score\"}, ...]} line per request, best first, "
                           "without the history's items.");
  options.add_options()
      ("r,run", "Run directory written by `attune train` (task recommendation)", cxxopts::value<std::string>())
      ("i,input", "Requests, JSONL ('-' = stdin)", cxxopts::value<std::string>()->default_value("-"))
      ("o,output", "Where to write the recommendations (default: stdout)", cxxopts::value<std::string>())
      ("k,top-k", "Items per request", cxxopts::value<int64_t>()->default_value("10"))
      ("batch-size", "Requests per forward pass", cxxopts::value<int64_t>()->default_value("256"))
      ("device", "Device (auto, cpu, cuda); default: the run's", cxxopts::value<std::string>()->default_value(""));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune recommend", "--run DIR is required");
  const std::string run_dir = parsed["run"].as<std::string>();
  const tasks::Task& task = tasks::task_of_run(run_dir);
  if (task.name() != "recommendation") {
    fail(run_dir, "not a recommendation run (its config.json has task '" + task.name() + "')");
  }
  const int64_t top_k = parsed["top-k"].as<int64_t>(), batch = parsed["batch-size"].as<int64_t>();
  if (top_k < 1) fail("--top-k", "must be >= 1");
  if (batch < 1) fail("--batch-size", "must be >= 1");
  const std::string input = parsed["input"].as<std::string>();
  std::ifstream file;
  std::istream& in = open_input(input, file);
  const std::string name = input == "-" ? "<stdin>" : input;
  const tasks::RunRequest run{run_dir, parsed["device"].as<std::string>(), {}, {}};
  write_output(parsed.count("output") ? parsed["output"].as<std::string>() : "", [&](std::ostream& out) {
    tasks::PredictStreams streams{in, name, out, batch, top_k};
    task.predict(run, streams);
  });
  return 0;
}

}  // namespace attune::cli
