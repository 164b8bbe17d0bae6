#include "core/error.h"
#include "tasks/report/report.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <iostream>

namespace attune::cli {

int report_command(const Args& args) {
  cxxopts::Options options("attune report",
                           "One self-contained HTML page about a run, finished or still training: loss, "
                           "learning-rate, throughput and gradient-norm curves, every validation metric over "
                           "steps, the final metrics, the config, and per task a confusion matrix with per-class "
                           "P/R/F1, BLEU/chrF with sample translations, HR/NDCG@K, or misclassified images. "
                           "It needs no network. `attune train` writes one at the end of every run (train.report).");
  options.positional_help("RUN_DIR");
  options.add_options()
      ("run", "Run directory written by `attune train` (also as the first argument)", cxxopts::value<std::string>())
      ("o,output", "HTML file to write (default: RUN_DIR/report.html)", cxxopts::value<std::string>()->default_value(""));
  options.parse_positional({"run"});
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune report", "a run directory is required: attune report RUN_DIR [-o report.html]");
  const std::string path = report::write_report(parsed["run"].as<std::string>(), parsed["output"].as<std::string>());
  std::cout << path << std::endl;
  return 0;
}

}  // namespace attune::cli
