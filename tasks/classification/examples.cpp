#include "tasks/classification/examples.h"

#include "data/batching.h"
#include "core/error.h"
#include "core/files.h"
#include "data/readers/table.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace attune::classification {

Examples read_examples(const std::string& path, const ColumnSpec& columns) {
  const data::Table table = data::read_table(path, data::parse_table_format(columns.format, "data.format"));
  const int64_t text_col = table.column_index(columns.text, "data.text_column");
  const int64_t pair_col = columns.text_pair.empty() ? -1 : table.column_index(columns.text_pair, "data.text_pair_column");
  const int64_t label_col = columns.label.empty() ? -1 : table.column_index(columns.label, "data.label_column");
  std::vector<int64_t> context_cols;
  for (const auto& name : columns.context) context_cols.push_back(table.column_index(name, "data.context_columns"));
  Examples ex;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    ex.texts.push_back(row[text_col]);
    if (pair_col >= 0) ex.pairs.push_back(row[pair_col]);
    if (label_col >= 0) {
      if (row[label_col].empty()) fail(table.where(r), "empty label in column '" + columns.label + "'");
      ex.label_names.push_back(row[label_col]);
    }
    if (!context_cols.empty()) {
      std::vector<float> values;
      for (size_t c = 0; c < context_cols.size(); ++c) {
        values.push_back(parse_context_value(row[context_cols[c]], columns.context[c], table.where(r)));
      }
      ex.context.push_back(std::move(values));
    }
    ex.where.push_back(table.where(r));
  }
  return ex;
}

std::vector<std::string> build_label_map(const Examples& train) {
  const std::set<std::string> distinct(train.label_names.begin(), train.label_names.end());
  return {distinct.begin(), distinct.end()};
}

void map_labels(Examples& examples, const std::vector<std::string>& label_map) {
  examples.labels.clear();
  for (size_t i = 0; i < examples.label_names.size(); ++i) {
    const auto it = std::lower_bound(label_map.begin(), label_map.end(), examples.label_names[i]);
    if (it == label_map.end() || *it != examples.label_names[i]) {
      std::string known;
      for (const auto& l : label_map) known += (known.empty() ? "" : ", ") + l;
      fail(examples.where[i], "label '" + examples.label_names[i] + "' was not seen in training (known: " + known + ")");
    }
    examples.labels.push_back(it - label_map.begin());
  }
}

void save_label_map(const std::string& path, const std::vector<std::string>& labels) {
  io::write_json_atomic(path, nlohmann::json(labels));
}

std::vector<std::string> load_label_map(const std::string& path) {
  const nlohmann::json j = io::read_json(path);
  if (!j.is_array() || j.empty()) fail(path, "expected a non-empty list of labels");
  std::vector<std::string> labels;
  for (const auto& l : j) {
    if (!l.is_string()) fail(path, "labels must be strings");
    labels.push_back(l.get<std::string>());
  }
  if (!std::is_sorted(labels.begin(), labels.end())) fail(path, "labels must be sorted");
  return labels;
}

void tokenize(Examples& examples, const text::Tokenizer& tokenizer, int64_t max_length) {
  examples.encodings.clear();
  examples.encodings.reserve(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    const std::string* pair = examples.pairs.empty() ? nullptr : &examples.pairs[i];
    examples.encodings.push_back(tokenizer.encode(examples.texts[i], pair, max_length));
  }
}

torch::Tensor context_tensor(const Examples& examples) {
  if (examples.context.empty()) return {};
  const int64_t n = static_cast<int64_t>(examples.context.size());
  const int64_t c = static_cast<int64_t>(examples.context.front().size());
  torch::Tensor out = torch::empty({n, c});
  auto a = out.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) a[i][j] = examples.context[i][j];
  return out;
}

float parse_context_value(const std::string& cell, const std::string& column, const std::string& where) {
  size_t used = 0;
  double value = 0.0;
  try {
    value = std::stod(cell, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  while (used < cell.size() && std::isspace(static_cast<unsigned char>(cell[used]))) ++used;
  if (cell.empty() || used != cell.size() || !std::isfinite(value)) {
    fail(where, "context column '" + column + "' must hold a finite number, got '" + cell + "'");
  }
  return static_cast<float>(value);
}

Examples split_off(Examples& train, double fraction, uint64_t seed) {
  const std::vector<char> to_valid = data::held_out_mask(static_cast<int64_t>(train.size()), fraction, seed);
  if (to_valid.empty()) fail("data.valid_fraction", "leaves an empty training or validation set");
  Examples kept, valid;
  for (size_t i = 0; i < train.size(); ++i) {
    Examples& dst = to_valid[i] ? valid : kept;
    dst.texts.push_back(train.texts[i]);
    if (!train.pairs.empty()) dst.pairs.push_back(train.pairs[i]);
    if (!train.label_names.empty()) dst.label_names.push_back(train.label_names[i]);
    if (!train.context.empty()) dst.context.push_back(train.context[i]);
    dst.where.push_back(train.where[i]);
  }
  train = std::move(kept);
  return valid;
}

}  // namespace attune::classification
