// The body of an `attune serve` POST /predict request, read into checked inputs with
// no network (tasks/serving/request.h), against the two kinds of input check the
// served tasks have: a classifier's text columns (single, pair, with context values)
// and a translator's sentences. The first byte picks the check.
#include "core/error.h"
#include "tasks/classification/task.h"
#include "tasks/serving/request.h"

namespace {

attune::serving::Predictor predictor(uint8_t kind) {
  attune::serving::Predictor p;
  if (kind % 4 == 3) {
    p.check = [](const nlohmann::json& input, const std::string& where) {
      if (!input.is_string()) attune::fail(where, "expected a sentence (a string)");
    };
    return p;
  }
  attune::classification::ColumnSpec columns;
  columns.text = "text";
  if (kind % 4 == 1) columns.text_pair = "pair";
  if (kind % 4 == 2) columns.context = {"age", "score"};
  p.check = [columns](const nlohmann::json& input, const std::string& where) {
    attune::classification::Examples probe;
    attune::classification::add_input(probe, input, columns, where);
  };
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const attune::serving::Predictor p = predictor(data[0]);
  try {
    const auto inputs = attune::serving::request_inputs(std::string(reinterpret_cast<const char*>(data + 1), size - 1), p, 256);
    if (inputs.empty() || inputs.size() > 256) std::abort();
  } catch (const attune::UserError&) {
  }
  return 0;
}
