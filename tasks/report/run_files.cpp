#include "tasks/report/run_files.h"

#include "core/error.h"
#include "core/files.h"
#include "tasks/engine/run_dir.h"

#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::report {
namespace {

struct Line {
  int64_t number;
  std::string text;
  bool last_unterminated;  // the file's last line, with no newline after it
};

std::vector<Line> lines_of(const std::string& path) {
  const std::string bytes = io::read_file(path);
  std::vector<Line> lines;
  size_t start = 0;
  for (int64_t n = 1; start < bytes.size(); ++n) {
    const size_t end = bytes.find('\n', start);
    const bool unterminated = end == std::string::npos;
    std::string text = bytes.substr(start, unterminated ? std::string::npos : end - start);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") != std::string::npos) lines.push_back({n, text, unterminated});
    if (unterminated) break;
    start = end + 1;
  }
  return lines;
}

std::vector<MetricsLine> read_metrics(const std::string& path, std::vector<std::string>& notes) {
  std::vector<MetricsLine> out;
  for (const Line& line : lines_of(path)) {
    const std::string where = at_line(path, line.number);
    nlohmann::json j = nlohmann::json::parse(line.text, nullptr, false);
    if (j.is_discarded() && line.last_unterminated) {
      notes.push_back(where + ": a partly written last line was skipped (the run is still writing it)");
      break;
    }
    j = io::parse_json_line(line.text, where);
    if (!j.is_object()) fail(where, "expected a JSON object, got " + std::string(j.type_name()));
    if (!j.contains("split") || !j["split"].is_string()) fail(where, "expected a string \"split\" (train or valid)");
    if (!j.contains("step") || !j["step"].is_number()) fail(where, "expected a number \"step\"");
    out.push_back({j["split"].get<std::string>(), j["step"].get<double>(), std::move(j)});
  }
  return out;
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_string()) fail(where, std::string("expected a string \"") + key + "\"");
  return j[key].get<std::string>();
}

nlohmann::json read_samples(const std::string& path) {
  nlohmann::json out = nlohmann::json::array();
  for (const Line& line : lines_of(path)) {
    const std::string where = at_line(path, line.number);
    const nlohmann::json j = io::parse_json_line(line.text, where);
    if (!j.is_object()) fail(where, "expected a JSON object, got " + std::string(j.type_name()));
    for (const char* key : {"source", "reference", "translation"}) string_field(j, key, where);
    out.push_back(j);
  }
  return out;
}

std::vector<MisclassifiedImage> read_misclassified(const engine::RunDir& run, std::vector<std::string>& notes) {
  const std::string index = run.misclassified_index();
  std::vector<MisclassifiedImage> out;
  for (const Line& line : lines_of(index)) {
    const std::string where = at_line(index, line.number);
    const nlohmann::json j = io::parse_json_line(line.text, where);
    if (!j.is_object()) fail(where, "expected a JSON object, got " + std::string(j.type_name()));
    MisclassifiedImage image;
    image.label = string_field(j, "label", where);
    image.predicted = string_field(j, "predicted", where);
    if (!j.contains("probability") || !j["probability"].is_number()) fail(where, "expected a number \"probability\"");
    image.probability = j["probability"].get<double>();
    const std::string file = string_field(j, "image", where);
    if (file.find('/') != std::string::npos || file.find("..") != std::string::npos) {
      fail(where, "image must be a file name in the same folder, got '" + file + "'");
    }
    const std::string png = (fs::path(index).parent_path() / file).string();
    if (fs::exists(png)) {
      image.png = io::read_file(png);
    } else {
      notes.push_back(where + ": image " + png + " is missing");
    }
    out.push_back(std::move(image));
  }
  return out;
}

}  // namespace

RunFiles read_run_files(const std::string& dir) {
  const engine::RunDir run(dir);
  run.require();
  RunFiles files;
  files.dir = dir;
  files.config = io::read_json(run.config());
  if (!files.config.is_object()) fail(run.config(), "expected a JSON object");
  if (fs::exists(run.metrics())) {
    files.metrics = read_metrics(run.metrics(), files.notes);
  } else {
    files.notes.push_back(run.metrics() + " does not exist yet: no curves");
  }
  if (fs::exists(run.results())) {
    files.results = io::read_json(run.results());
    if (!files.results.is_object()) fail(run.results(), "expected a JSON object");
  } else {
    files.notes.push_back(run.results() + " does not exist: the run is still training, was interrupted or failed; "
                          "the final metrics are missing");
  }
  if (fs::exists(run.samples())) files.samples = read_samples(run.samples());
  if (fs::exists(run.misclassified_index())) {
    files.misclassified_listed = true;
    files.misclassified = read_misclassified(run, files.notes);
  }
  return files;
}

}  // namespace attune::report
