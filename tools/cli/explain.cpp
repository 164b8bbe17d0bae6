#include "data/error.h"
#include "data/io/files.h"
#include "tasks/classification/explain.h"
#include "tasks/engine/settings.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

namespace attune::cli {

int explain_command(const Args& args) {
  cxxopts::Options options("attune explain",
                           "What a text classification run looked at for one input: the prediction, per-head "
                           "attention of a layer and attention rollout over all layers (JSON), and a heat map (HTML).");
  options.add_options()
      ("r,run", "Run directory written by `attune train` (task text-classification)", cxxopts::value<std::string>())
      ("input", "The text to explain", cxxopts::value<std::string>())
      ("layer", "Layer whose heads are returned (0-based; negative counts from the last)",
       cxxopts::value<int64_t>()->default_value("-1"))
      ("o,output", "JSON file (default: stdout)", cxxopts::value<std::string>()->default_value("-"))
      ("html", "Also write a self-contained HTML heat map here", cxxopts::value<std::string>())
      ("device", "Device (auto, cpu, cuda); default: the run's", cxxopts::value<std::string>()->default_value(""));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune explain", "--run DIR is required");
  if (!parsed.count("input")) fail("attune explain", "--input TEXT is required");
  const std::string run_dir = parsed["run"].as<std::string>();
  engine::require_run_dir(run_dir);
  const std::string task = io::read_json((fs::path(run_dir) / "config.json").string()).value("task", "");
  if (task != "text-classification") {
    fail(run_dir, "attune explain reads text-classification runs; this run's task is '" + task + "'");
  }
  const nlohmann::json e = classification::explain_text(run_dir, parsed["input"].as<std::string>(),
                                                        parsed["layer"].as<int64_t>(), parsed["device"].as<std::string>());
  if (parsed.count("html")) io::write_file_atomic(parsed["html"].as<std::string>(), classification::explanation_html(e));
  write_output(parsed["output"].as<std::string>(), [&](std::ostream& out) { out << e.dump() << "\n"; });
  return 0;
}

}  // namespace attune::cli
