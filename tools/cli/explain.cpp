#include "core/error.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <iostream>

namespace attune::cli {

int explain_command(const Args& args) {
  cxxopts::Options options("attune explain",
                           "What a classification run looked at: the prediction, per-head attention of a layer "
                           "and attention rollout over all layers (JSON), and a heat map (HTML for a text, PNG "
                           "overlays for images).");
  options.add_options()
      ("r,run", "Run directory written by `attune train` (text- or image-classification)", cxxopts::value<std::string>())
      ("input", "The text to explain; for image runs an IDX images file, FILE:INDEX or FILE:I,J,...",
       cxxopts::value<std::string>())
      ("layer", "Layer whose heads are returned (0-based; negative counts from the last)",
       cxxopts::value<int64_t>()->default_value("-1"))
      ("o,output", "JSON file (default: stdout)", cxxopts::value<std::string>()->default_value("-"))
      ("html", "Text runs: also write a self-contained HTML heat map here", cxxopts::value<std::string>())
      ("png", "Image runs: also write each image above its heat-map overlay here", cxxopts::value<std::string>())
      ("scale", "Image runs: pixels per image pixel in the PNG", cxxopts::value<int64_t>()->default_value("8"))
      ("device", "Device (auto, cpu, cuda); default: the run's", cxxopts::value<std::string>()->default_value(""));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune explain", "--run DIR is required");
  if (!parsed.count("input")) fail("attune explain", "--input TEXT is required");
  const std::string run_dir = parsed["run"].as<std::string>();
  const tasks::Task& task = tasks::task_of_run(run_dir);
  tasks::ExplainRequest request;
  request.input = parsed["input"].as<std::string>();
  request.layer = parsed["layer"].as<int64_t>();
  if (parsed.count("html")) request.html_path = parsed["html"].as<std::string>();
  if (parsed.count("png")) request.png_path = parsed["png"].as<std::string>();
  request.scale = parsed["scale"].as<int64_t>();
  const nlohmann::json e = task.explain(tasks::RunRequest{run_dir, parsed["device"].as<std::string>(), {}, {}}, request);
  write_output(parsed["output"].as<std::string>(), [&](std::ostream& out) { out << e.dump() << "\n"; });
  return 0;
}

}  // namespace attune::cli
