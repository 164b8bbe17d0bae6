#include "core/error.h"
#include "core/files.h"
#include "tasks/engine/settings.h"
#include "tasks/translation/task.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <filesystem>
#include <fstream>
#include <iostream>

namespace fs = std::filesystem;

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
      ("device", "Device (auto, cpu, cuda); default: the run's", cxxopts::value<std::string>()->default_value(""));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune translate", "--run DIR is required");
  const std::string run_dir = parsed["run"].as<std::string>();
  engine::require_run_dir(run_dir);
  const std::string config_path = (fs::path(run_dir) / "config.json").string();
  if (io::read_json(config_path).value("task", "") != "translation") {
    fail(run_dir, "not a translation run (its config.json has task '" +
                      io::read_json(config_path).value("task", "") + "')");
  }
  if (parsed.count("beam")) overrides.push_back("decode.beam_size=" + std::to_string(parsed["beam"].as<int64_t>()));
  if (parsed.count("length-penalty")) {
    overrides.push_back("decode.length_penalty=" + std::to_string(parsed["length-penalty"].as<double>()));
  }
  std::ifstream file;
  std::istream& in = open_input(parsed["input"].as<std::string>(), file);
  const std::string device = parsed["device"].as<std::string>();
  write_output(parsed.count("output") ? parsed["output"].as<std::string>() : "",
               [&](std::ostream& out) { translation::translate_run(run_dir, in, out, device, overrides); });
  return 0;
}

}  // namespace attune::cli
