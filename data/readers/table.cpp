#include "data/readers/table.h"

#include "core/error.h"
#include "core/files.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace attune::data {
namespace {

std::string where_of(const std::string& path, int64_t line) { return at_line(path, line); }

// RFC 4180 with the usual leniencies: CRLF or LF, a quote inside an unquoted field is
// literal (as Python's csv module reads it), blank lines are skipped.
std::vector<std::pair<int64_t, std::vector<std::string>>> parse_delimited(const std::string& text, char sep,
                                                                         bool quoting, const std::string& path) {
  std::vector<std::pair<int64_t, std::vector<std::string>>> records;
  size_t i = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // UTF-8 byte order mark
  int64_t line = 1;
  const size_t n = text.size();
  while (i < n) {
    const int64_t record_line = line;
    std::vector<std::string> fields;
    std::string field;
    bool record_done = false;
    bool any_content = false;
    while (!record_done) {
      if (quoting && i < n && text[i] == '"') {
        const int64_t quote_line = line;
        ++i;
        any_content = true;
        while (true) {
          if (i >= n) fail(where_of(path, quote_line), "unterminated quoted field");
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        // Text after a closing quote up to the separator is kept, as Python's csv does.
        while (i < n && text[i] != sep && text[i] != '\n' && text[i] != '\r') field += text[i++];
      } else {
        while (i < n && text[i] != sep && text[i] != '\n' && text[i] != '\r') field += text[i++];
        any_content = any_content || !field.empty();
      }
      fields.push_back(std::move(field));
      field.clear();
      if (i < n && text[i] == sep) {
        ++i;
        any_content = true;
        continue;
      }
      if (i < n && text[i] == '\r') ++i;
      if (i < n && text[i] == '\n') {
        ++i;
        ++line;
      }
      record_done = true;
    }
    if (any_content) records.emplace_back(record_line, std::move(fields));
  }
  return records;
}

Table read_delimited(const std::string& path, char sep, bool quoting) {
  const std::string text = io::read_file(path);
  auto records = parse_delimited(text, sep, quoting, path);
  if (records.empty()) fail(path, "empty file (expected a header row)");
  Table table;
  table.path = path;
  table.columns = std::move(records.front().second);
  for (size_t r = 1; r < records.size(); ++r) {
    auto& [line, fields] = records[r];
    if (fields.size() != table.columns.size()) {
      fail(where_of(path, line), "expected " + std::to_string(table.columns.size()) + " fields, found " +
                                     std::to_string(fields.size()));
    }
    table.rows.push_back(std::move(fields));
    table.lines.push_back(line);
  }
  return table;
}

std::string json_field(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

Table read_jsonl(const std::string& path) {
  const std::string text = io::read_file(path);
  Table table;
  table.path = path;
  size_t start = 0;
  int64_t line = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line;
    std::string content = text.substr(start, end - start);
    start = end + 1;
    if (line == 1 && content.compare(0, 3, "\xEF\xBB\xBF") == 0) content.erase(0, 3);
    if (content.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::ordered_json j;  // ordered: columns keep the file's key order
    try {
      j = nlohmann::ordered_json::parse(content);
    } catch (const nlohmann::json::exception& e) {
      // parse_error, or out_of_range for a number too large for a double ("1e999").
      fail(where_of(path, line), "invalid JSON: " + io::json_parse_reason(e.what()));
    }
    if (!j.is_object()) fail(where_of(path, line), "expected a JSON object");
    if (table.columns.empty()) {
      for (auto it = j.begin(); it != j.end(); ++it) table.columns.push_back(it.key());
      if (table.columns.empty()) fail(where_of(path, line), "empty JSON object");
    }
    std::vector<std::string> row;
    for (const auto& c : table.columns) {
      if (!j.contains(c)) fail(where_of(path, line), "missing key '" + c + "'");
      row.push_back(json_field(j[c]));
    }
    table.rows.push_back(std::move(row));
    table.lines.push_back(line);
  }
  return table;
}

}  // namespace

TableFormat parse_table_format(const std::string& name, const std::string& key) {
  if (name == "auto") return TableFormat::kAuto;
  if (name == "csv") return TableFormat::kCsv;
  if (name == "tsv") return TableFormat::kTsv;
  if (name == "jsonl") return TableFormat::kJsonl;
  fail(key, "unknown format '" + name + "' (known: auto, csv, tsv, jsonl)");
}

int64_t Table::column_index(const std::string& name, const std::string& key) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int64_t>(i);
  }
  std::string known;
  for (const auto& c : columns) known += (known.empty() ? "" : ", ") + c;
  fail(key, "column '" + name + "' not in " + path + " (columns: " + known + ")");
}

std::string Table::where(int64_t row) const { return where_of(path, lines.at(row)); }

Table read_table(const std::string& path, TableFormat format) {
  if (format == TableFormat::kAuto) {
    std::string ext = std::filesystem::path(path).extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".csv") {
      format = TableFormat::kCsv;
    } else if (ext == ".tsv" || ext == ".tab") {
      format = TableFormat::kTsv;
    } else if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") {
      format = TableFormat::kJsonl;
    } else {
      fail(path, "cannot tell the format from the extension; set data.format to csv, tsv or jsonl");
    }
  }
  Table table = format == TableFormat::kJsonl ? read_jsonl(path)
                : format == TableFormat::kTsv  ? read_delimited(path, '\t', false)
                                               : read_delimited(path, ',', true);
  if (table.rows.empty()) fail(path, "no data rows");
  return table;
}

}  // namespace attune::data
