// Labelled text examples read from a table, and the label map that turns label
// strings into class ids (saved as labels.json in the run directory).
#pragma once
#include "data/text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::classification {

struct ColumnSpec {
  std::string format = "auto";
  std::string text;
  std::string text_pair;  // empty = single text
  std::string label;      // empty = unlabelled (prediction)
  std::vector<std::string> context;  // numeric columns the attention is conditioned on
};

struct Examples {
  std::vector<std::string> texts;
  std::vector<std::string> pairs;         // empty or one per text
  std::vector<std::string> label_names;   // raw label strings (empty when unlabelled)
  std::vector<std::string> where;         // "file:line" of each example
  std::vector<int64_t> labels;            // class ids once mapped
  std::vector<text::Encoding> encodings;  // once tokenized
  std::vector<std::vector<float>> context;  // one row of context values per text, or empty
  size_t size() const { return texts.size(); }
};

// (N, C) float of the examples' context rows; undefined when they have none.
torch::Tensor context_tensor(const Examples& examples);
// A context value as read from a table cell or JSON: a finite number, else fail(where).
float parse_context_value(const std::string& cell, const std::string& column, const std::string& where);

Examples read_examples(const std::string& path, const ColumnSpec& columns);

// Sorted distinct labels of the training examples.
std::vector<std::string> build_label_map(const Examples& train);
// Fills `labels` from `label_names`; a label the map lacks fails naming file and line.
void map_labels(Examples& examples, const std::vector<std::string>& label_map);

void save_label_map(const std::string& path, const std::vector<std::string>& labels);
std::vector<std::string> load_label_map(const std::string& path);

void tokenize(Examples& examples, const text::Tokenizer& tokenizer, int64_t max_length);

// Moves a seeded `fraction` of `train` into a new validation set.
Examples split_off(Examples& train, double fraction, uint64_t seed);

}  // namespace attune::classification
