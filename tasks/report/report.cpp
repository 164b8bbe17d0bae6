#include "tasks/report/report.h"

#include "core/files.h"
#include "tasks/engine/run_dir.h"
#include "tasks/report/html.h"
#include "tasks/report/page_style.h"
#include "tasks/report/run_files.h"
#include "tasks/report/sections.h"

#include <ctime>
#include <sstream>

namespace attune::report {

std::string render_report(const std::string& run_dir) {
  const RunFiles run = read_run_files(run_dir);
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::ostringstream page;
  // The error hook comes first, so a failure anywhere in the page's script is recorded
  // (data-script-errors, and shown) rather than lost: the browser test reads it.
  page << "<!DOCTYPE html>\n<html lang=\"en\" data-script-errors=\"0\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>attune report: " << escape(run_dir) << "</title>\n<script>" << kErrorHook << "</script>\n<style>"
       << kStyle << "</style>\n</head>\n<body>\n<main>\n"
       << "<pre id=\"script-errors\" hidden></pre>\n"
       << header_section(run) << notes_section(run) << training_section(run) << evaluation_section(run)
       << classification_section(run) << translation_section(run) << recommendation_section(run)
       << images_section(run) << results_section(run) << config_section(run)
       << "<footer>Written by <code>attune report</code> on " << stamp
       << " from config.json, metrics.jsonl and results.json. Hover a point for its exact value; click a legend "
          "entry to hide its series.</footer>\n</main>\n<script>"
       << kScript << "</script>\n</body>\n</html>\n";
  return page.str();
}

std::string write_report(const std::string& run_dir, const std::string& out) {
  const std::string path = out.empty() ? engine::RunDir(run_dir).report() : out;
  io::write_file_atomic(path, render_report(run_dir));
  return path;
}

}  // namespace attune::report
