// Tabular data files: CSV (RFC 4180), TSV and JSONL, read into string columns.
// Every row remembers the line it starts on, so later errors can name it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attune::data {

enum class TableFormat { kAuto, kCsv, kTsv, kJsonl };

// "auto", "csv", "tsv", "jsonl"; anything else fails naming `key`.
TableFormat parse_table_format(const std::string& name, const std::string& key);

struct Table {
  std::string path;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // each has columns.size() fields
  std::vector<int64_t> lines;                  // 1-based line where each row starts

  // Fails naming `key` and the available columns when `name` is not a column.
  int64_t column_index(const std::string& name, const std::string& key) const;
  std::string where(int64_t row) const;  // "path:line"
};

// kAuto picks the format from the extension (.csv, .tsv/.tab, .jsonl/.ndjson/.json).
// TSV fields are taken literally (no quoting). JSONL columns are the keys of the
// first object; numbers and booleans become their JSON text, null becomes "".
Table read_table(const std::string& path, TableFormat format = TableFormat::kAuto);

}  // namespace attune::data
