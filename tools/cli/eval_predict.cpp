#include "core/error.h"
#include "core/files.h"
#include "tasks/engine/settings.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <filesystem>
#include <fstream>
#include <iostream>

namespace fs = std::filesystem;

namespace attune::cli {
namespace {

std::vector<std::string> adapters_of(const cxxopts::ParseResult& parsed, const tasks::Task& task) {
  if (!parsed.count("adapter")) return {};
  if (!task.has_adapters()) fail("--adapter", "task '" + task.name() + "' has no PEFT adapters");
  return parsed["adapter"].as<std::vector<std::string>>();
}

}  // namespace

int eval_command(const Args& raw_args) {
  Args args = raw_args;
  const std::vector<std::string> overrides = take_overrides(args);
  cxxopts::Options options("attune eval", "Evaluate a trained run on a labelled file; prints one JSON object.");
  options.add_options()
      ("r,run", "Run directory written by `attune train`", cxxopts::value<std::string>())
      ("d,data", "Labelled data file (CSV, TSV or JSONL); for recommendation an interaction log of later "
                 "interactions (default: the run's own test cases)", cxxopts::value<std::string>())
      ("set", "Override a key of the run's config for reading this file, e.g. --set data.label_column=y", cxxopts::value<std::string>())
      ("device", "Device (auto, cpu, cuda); default: the run's", cxxopts::value<std::string>()->default_value(""))
      ("adapter", "PEFT adapter directory to load on the run's base model instead of its own adapter (repeatable: the last one is used)",
       cxxopts::value<std::vector<std::string>>());
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune eval", "--run DIR is required");
  const std::string run_dir = parsed["run"].as<std::string>();
  const tasks::Task& task = tasks::task_of_run(run_dir);
  if (!parsed.count("data") && !task.evaluates_own_split()) fail("attune eval", "--data FILE is required");
  const tasks::RunRequest run{run_dir, parsed["device"].as<std::string>(), overrides, adapters_of(parsed, task)};
  const nlohmann::json metrics = task.evaluate(run, parsed.count("data") ? parsed["data"].as<std::string>() : "");
  std::cout << metrics.dump(2) << std::endl;
  return 0;
}

int predict_command(const Args& args) {
  cxxopts::Options options("attune predict",
                           "Predict with a trained run, or with a bundle written by `attune export`. Input: one "
                           "text per line, or JSONL objects with the run's text column(s). Output: one JSON line "
                           "per input, in input order.");
  options.add_options()
      ("r,run", "Run directory written by `attune train`", cxxopts::value<std::string>())
      ("bundle", "Bundle directory written by `attune export` (instead of --run)", cxxopts::value<std::string>())
      ("i,input", "Input file; default: stdin", cxxopts::value<std::string>()->default_value("-"))
      ("o,output", "Output file; default: stdout", cxxopts::value<std::string>()->default_value("-"))
      ("batch-size", "Texts per forward pass", cxxopts::value<int64_t>()->default_value("64"))
      ("device", "Device (auto, cpu, cuda); default: the run's (a bundle's: the device in its config.json)",
       cxxopts::value<std::string>()->default_value(""))
      ("adapter", "PEFT adapter directory to load on the run's base model instead of its own adapter (repeatable: the last one is used)",
       cxxopts::value<std::vector<std::string>>());
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  const bool from_bundle = parsed.count("bundle") > 0;
  if (from_bundle == (parsed.count("run") > 0)) fail("attune predict", "give either --run DIR or --bundle DIR");
  if (from_bundle && parsed.count("adapter")) fail("--adapter", "goes with --run; a bundle holds its model as exported");
  const int64_t batch_size = parsed["batch-size"].as<int64_t>();
  if (batch_size < 1) fail("--batch-size", "must be >= 1");
  const std::string run_dir = from_bundle ? parsed["bundle"].as<std::string>() : parsed["run"].as<std::string>();
  const tasks::Task& task = from_bundle ? tasks::task_of_bundle(run_dir) : tasks::task_of_run(run_dir);

  const std::string input = parsed["input"].as<std::string>();
  std::ifstream in_file;
  std::istream& in = open_input(input, in_file);
  const std::string output = parsed["output"].as<std::string>();
  std::ofstream out_file;
  if (output != "-") {
    out_file.open(output);
    if (!out_file) fail(output, "cannot write file");
  }
  std::ostream& out = output == "-" ? std::cout : out_file;
  tasks::PredictStreams streams{in, input == "-" ? "<stdin>" : input, out, batch_size};
  const std::string device = parsed["device"].as<std::string>();
  if (from_bundle) {
    task.predict_bundle(run_dir, device, streams);
  } else {
    task.predict(tasks::RunRequest{run_dir, device, {}, adapters_of(parsed, task)}, streams);
  }
  return 0;
}

int config_command(const Args& args) {
  cxxopts::Options options("attune config", "Print a task's complete default config (every key a run config may set).");
  options.add_options()("task", "Task", cxxopts::value<std::string>()->default_value("text-classification"))(
      "keys", "Print one line per key instead: its path and what it does");
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  const tasks::Task& task = tasks::find_task(parsed["task"].as<std::string>(), "--task");
  if (parsed.count("keys")) {
    for (const std::string& line : task.config_help()) std::cout << line << "\n";
    std::cout.flush();
    return 0;
  }
  std::cout << task.default_config().dump(2) << std::endl;
  return 0;
}

}  // namespace attune::cli
