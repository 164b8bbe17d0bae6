// The body of a POST /predict request, read into checked inputs: the part of
// `attune serve` that takes untrusted bytes, kept apart from the network so it can be
// tested and fuzzed alone (tests/fuzz/serve_request).
#pragma once
#include "tasks/serving/predictor.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attune::serving {

// {"inputs": [x, ...]} or {"input": x}; each x as predictor.check accepts it (a text, or
// an object with the run's text columns). Fails with a UserError naming "body",
// "inputs" or "inputs[i]"; more than max_inputs inputs fail too.
std::vector<nlohmann::json> request_inputs(const std::string& body, const Predictor& predictor, int64_t max_inputs);

struct PredictRequest {
  std::vector<nlohmann::json> inputs;
  std::string adapter;  // "adapter": the adapter to run with; "" (absent or null): the base model
};
// request_inputs, and the "adapter" key: a non-empty string when present (else fails naming "adapter").
PredictRequest predict_request(const std::string& body, const Predictor& predictor, int64_t max_inputs);

}  // namespace attune::serving
