#include "data/readers/interactions.h"

#include "core/error.h"
#include "data/readers/parallel.h"
#include "data/readers/table.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace attune::data {
namespace {

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

double number(const std::string& text, const std::string& what, const std::string& where) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  while (end && (*end == ' ' || *end == '\r')) ++end;
  if (text.empty() || end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
    fail(where, what + " '" + text + "' is not a number");
  }
  return v;
}

// MovieLens' fixed layouts: user, item, rating, timestamp, split by `sep`.
InteractionLog read_movielens(const std::string& path, const std::string& sep) {
  const std::vector<std::string> lines = read_text_lines(path);
  InteractionLog log;
  log.path = path;
  log.has_time = log.has_rating = true;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& content = lines[i];
    const auto line = static_cast<int64_t>(i) + 1;
    if (content.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<std::string> fields;
    for (size_t from = 0;;) {
      const size_t at = content.find(sep, from);
      fields.push_back(content.substr(from, at == std::string::npos ? std::string::npos : at - from));
      if (at == std::string::npos) break;
      from = at + sep.size();
    }
    const std::string where = at_line(path, line);
    if (fields.size() != 4) {
      fail(where, "expected 4 fields (user, item, rating, timestamp) separated by '" + (sep == "\t" ? "\\t" : sep) +
                      "', found " + std::to_string(fields.size()));
    }
    if (fields[0].empty() || fields[1].empty()) fail(where, "empty user or item");
    Interaction row;
    row.user = fields[0];
    row.item = fields[1];
    row.time = number(fields[3], "timestamp", where);
    row.rating = number(fields[2], "rating", where);
    row.line = line;
    log.rows.push_back(std::move(row));
  }
  return log;
}

InteractionLog read_columns(const std::string& path, const InteractionColumns& c, const std::string& key) {
  const Table table = read_table(path, parse_table_format(c.format, key + ".format"));
  const int64_t user = table.column_index(c.user, key + ".user_column");
  const int64_t item = table.column_index(c.item, key + ".item_column");
  const int64_t time = c.time.empty() ? -1 : table.column_index(c.time, key + ".time_column");
  const int64_t rating = c.rating.empty() ? -1 : table.column_index(c.rating, key + ".rating_column");
  std::vector<int64_t> features;
  for (const auto& name : c.features) features.push_back(table.column_index(name, key + ".user_feature_columns"));
  InteractionLog log;
  log.path = path;
  log.has_time = time >= 0;
  log.has_rating = rating >= 0;
  log.rows.reserve(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& fields = table.rows[r];
    const std::string where = table.where(static_cast<int64_t>(r));
    Interaction row;
    row.user = fields[user];
    row.item = fields[item];
    if (row.user.empty()) fail(where, "empty " + c.user);
    if (row.item.empty()) fail(where, "empty " + c.item);
    if (time >= 0) row.time = number(fields[time], c.time, where);
    if (rating >= 0) row.rating = number(fields[rating], c.rating, where);
    row.line = table.lines[r];
    for (int64_t f : features) row.features.push_back(fields[f]);
    log.rows.push_back(std::move(row));
  }
  return log;
}

}  // namespace

InteractionLog read_interactions(const std::string& path, const InteractionColumns& columns, const std::string& key) {
  std::string format = columns.format;
  if (format == "auto") {
    const std::string name = file_name(path);
    if (name == "u.data") format = "movielens-tab";
    else if (std::filesystem::path(name).extension() == ".dat") format = "movielens-dat";
  }
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  if ((format == "movielens-dat" || format == "movielens-tab") && !columns.features.empty()) {
    fail(key + ".user_feature_columns", "the MovieLens rating files have no feature columns");
  }
  if (format == "movielens-dat") return read_movielens(path, "::");
  if (format == "movielens-tab") return read_movielens(path, "\t");
  InteractionColumns c = columns;
  c.format = format;
  return read_columns(path, c, key);
}

}  // namespace attune::data
