#include "core/error.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <fstream>
#include <iostream>


namespace attune::cli {

int translate_command(const Args& raw_args) {
  Args args = raw_args;
  std::vector<std::string> overrides = take_overrides(args);
  cxxopts::Options options("attune translate",
                           "Translate source lines (stdin or --input) with a translation run; one line out per line in.");
  options.add_options()
      ("r,run", "Run directory written by `attune train` (task translation)", cxxopts::value<std::string>())
      ("i,input", "Source text, one sentence a line ('-' = stdin)", cxxopts::value<std::string>()->default_value("-"))
      ("o,output", "Where to write the translations (default: stdout)", cxxopts::value<std::string>())
      ("beam", "Beam size (1 = greedy); default: the run's decode.beam_size", cxxopts::value<int64_t>())
      ("length-penalty", "Beam search length penalty; default: the run's", cxxopts::value<double>())
      ("set", "Override a key of the run's config, e.g. --set decode.max_length_ratio=2", cxxopts::value<std::string>())
      ("device", "Device (auto, cpu, cuda); default: the run's", cxxopts::value<std::string>()->default_value(""))
      ("adapter", "PEFT adapter directory to load on the run's base model instead of its own adapter (repeatable: the last one is used)",
       cxxopts::value<std::vector<std::string>>());
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune translate", "--run DIR is required");
  const std::string run_dir = parsed["run"].as<std::string>();
  const tasks::Task& task = tasks::task_of_run(run_dir);
  if (task.name() != "translation") fail(run_dir, "not a translation run (its config.json has task '" + task.name() + "')");
  if (parsed.count("beam")) overrides.push_back("decode.beam_size=" + std::to_string(parsed["beam"].as<int64_t>()));
  if (parsed.count("length-penalty")) {
    overrides.push_back("decode.length_penalty=" + std::to_string(parsed["length-penalty"].as<double>()));
  }
  std::ifstream file;
  const std::string input = parsed["input"].as<std::string>();
  std::istream& in = open_input(input, file);
  std::vector<std::string> adapters;
  if (parsed.count("adapter")) adapters = parsed["adapter"].as<std::vector<std::string>>();
  const tasks::RunRequest run{run_dir, parsed["device"].as<std::string>(), overrides, adapters};
  write_output(parsed.count("output") ? parsed["output"].as<std::string>() : "", [&](std::ostream& out) {
    tasks::PredictStreams streams{in, input == "-" ? "<stdin>" : input, out};
    task.predict(run, streams);
  });
  return 0;
}

}  // namespace attune::cli
