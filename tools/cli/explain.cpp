#include "core/error.h"
#include "core/files.h"
#include "data/formats/png.h"
#include "data/readers/idx.h"
#include "tasks/classification/explain.h"
#include "tasks/image_classification/explain.h"
#include "tasks/engine/settings.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

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
  engine::require_run_dir(run_dir);
  const std::string task = io::read_json((fs::path(run_dir) / "config.json").string()).value("task", "");
  const std::string input = parsed["input"].as<std::string>();
  const int64_t layer = parsed["layer"].as<int64_t>();
  const std::string device = parsed["device"].as<std::string>();
  if (task == "image-classification") {
    if (parsed.count("html")) fail("--html", "is for text runs; image runs write --png");
    const auto [file, indices] = image_classification::parse_image_input(input);
    const torch::Tensor all = data::parse_idx(io::read_file(file), file);
    if (all.dim() != 3) fail(file, "expected an IDX images file of rank 3 (N, H, W)");
    for (int64_t i : indices) {
      if (i >= all.size(0)) fail("--input", "image " + std::to_string(i) + " is past the file's " + std::to_string(all.size(0)));
    }
    const torch::Tensor images = all.index_select(0, torch::tensor(indices));
    const nlohmann::json e = image_classification::explain_images(run_dir, images, indices, layer, device);
    if (parsed.count("png")) {
      const int64_t scale = parsed["scale"].as<int64_t>();
      if (scale < 1 || scale > 64) fail("--scale", "must be in 1..64, got " + std::to_string(scale));
      formats::write_png(parsed["png"].as<std::string>(), image_classification::explanation_overlay(images, e, scale));
    }
    write_output(parsed["output"].as<std::string>(), [&](std::ostream& out) { out << e.dump() << "\n"; });
    return 0;
  }
  if (task != "text-classification") {
    fail(run_dir, "attune explain reads text- and image-classification runs; this run's task is '" + task + "'");
  }
  if (parsed.count("png")) fail("--png", "is for image runs; text runs write --html");
  const nlohmann::json e = classification::explain_text(run_dir, input, layer, device);
  if (parsed.count("html")) io::write_file_atomic(parsed["html"].as<std::string>(), classification::explanation_html(e));
  write_output(parsed["output"].as<std::string>(), [&](std::ostream& out) { out << e.dump() << "\n"; });
  return 0;
}

}  // namespace attune::cli
