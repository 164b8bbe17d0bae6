#include "data/readers/parallel.h"

#include "core/error.h"
#include "core/files.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace attune::data {
namespace {

std::ifstream open_text(const std::string& path) {
  if (!std::filesystem::exists(path)) fail(path, "file does not exist");
  if (std::filesystem::is_directory(path)) fail(path, "is a directory, expected a text file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open file");
  return in;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

std::string where(const std::string& path, int64_t line) { return at_line(path, line); }

void check_not_empty(const ParallelText& text, const std::string& path) {
  if (text.size() == 0) fail(path, "no sentence pairs");
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

ParallelText read_parallel_tsv(const std::string& path) {
  const std::vector<std::string> lines = read_text_lines(path);
  ParallelText text;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const int64_t n = static_cast<int64_t>(i) + 1;
    if (line.empty() && i + 1 == lines.size()) break;  // a final newline
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) fail(where(path, n), "expected source<TAB>target, found no tab");
    if (line.find('\t', tab + 1) != std::string::npos) {
      fail(where(path, n), "expected source<TAB>target, found more than one tab");
    }
    std::string source = line.substr(0, tab), target = line.substr(tab + 1);
    if (blank(source)) fail(where(path, n), "empty source sentence");
    if (blank(target)) fail(where(path, n), "empty target sentence");
    text.source.push_back(std::move(source));
    text.target.push_back(std::move(target));
    text.origin.push_back(where(path, n));
  }
  check_not_empty(text, path);
  return text;
}

ParallelText read_parallel_jsonl(const std::string& path, const std::string& source_key,
                                 const std::string& target_key) {
  const std::vector<std::string> lines = read_text_lines(path);
  ParallelText text;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const int64_t n = static_cast<int64_t>(i) + 1;
    if (blank(line)) continue;
    const nlohmann::json j = io::parse_json_line(line, where(path, n));
    if (!j.is_object()) fail(where(path, n), "expected a JSON object");
    for (const std::string* key : {&source_key, &target_key}) {
      if (!j.contains(*key)) fail(where(path, n), "missing key \"" + *key + "\"");
      if (!j[*key].is_string()) fail(where(path, n), "\"" + *key + "\" must be a string");
      if (blank(j[*key].get<std::string>())) fail(where(path, n), "empty \"" + *key + "\" sentence");
    }
    text.source.push_back(j[source_key].get<std::string>());
    text.target.push_back(j[target_key].get<std::string>());
    text.origin.push_back(where(path, n));
  }
  check_not_empty(text, path);
  return text;
}

std::vector<std::string> read_text_lines(const std::string& path) {
  std::ifstream in = open_text(path);
  return read_text_lines(in);
}

std::vector<std::string> read_text_lines(std::istream& in) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

ParallelText read_parallel_files(const std::string& source_path, const std::string& target_path) {
  std::vector<std::string> source = read_text_lines(source_path), target = read_text_lines(target_path);
  if (source.size() != target.size()) {
    fail(source_path, "has " + std::to_string(source.size()) + " lines but " + target_path + " has " +
                          std::to_string(target.size()) + ": the files must be line-aligned");
  }
  ParallelText text;
  for (size_t i = 0; i < source.size(); ++i) {
    const int64_t n = static_cast<int64_t>(i) + 1;
    if (blank(source[i])) fail(where(source_path, n), "empty source sentence");
    if (blank(target[i])) fail(where(target_path, n), "empty target sentence");
    text.source.push_back(std::move(source[i]));
    text.target.push_back(std::move(target[i]));
    text.origin.push_back(where(source_path, n));
  }
  check_not_empty(text, source_path);
  return text;
}

ParallelText read_parallel(const std::string& path, const std::string& source_key, const std::string& target_key) {
  if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson") || ends_with(path, ".json")) {
    return read_parallel_jsonl(path, source_key, target_key);
  }
  return read_parallel_tsv(path);
}

}  // namespace attune::data
