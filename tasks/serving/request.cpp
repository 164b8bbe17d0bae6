#include "tasks/serving/request.h"

#include "core/error.h"

namespace attune::serving {

std::vector<nlohmann::json> request_inputs(const std::string& body, const Predictor& predictor, int64_t max_inputs) {
  return predict_request(body, predictor, max_inputs).inputs;
}

PredictRequest predict_request(const std::string& body, const Predictor& predictor, int64_t max_inputs) {
  nlohmann::json request;
  try {
    request = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, or out_of_range for a number too large for a double ("1e999"): found
    // by tests/fuzz/serve_request; it escaped as an internal error before.
    fail("body", std::string("not valid JSON (") + e.what() + ")");
  }
  if (!request.is_object()) fail("body", "expected a JSON object with \"inputs\" (a list) or \"input\"");
  std::vector<nlohmann::json> inputs;
  if (request.contains("inputs")) {
    if (!request["inputs"].is_array()) fail("inputs", "must be a list");
    inputs = request["inputs"].get<std::vector<nlohmann::json>>();
    if (inputs.empty()) fail("inputs", "is empty");
  } else if (request.contains("input")) {
    inputs.push_back(request["input"]);
  } else {
    fail("body", "expected a JSON object with \"inputs\" (a list) or \"input\"");
  }
  if (static_cast<int64_t>(inputs.size()) > max_inputs) {
    fail("inputs", std::to_string(inputs.size()) + " inputs in one request; at most " + std::to_string(max_inputs));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    predictor.check(inputs[i], request.contains("inputs") ? "inputs[" + std::to_string(i) + "]" : "input");
  }
  PredictRequest out;
  out.inputs = std::move(inputs);
  if (request.contains("adapter") && !request["adapter"].is_null()) {
    if (!request["adapter"].is_string() || request["adapter"].get<std::string>().empty()) {
      fail("adapter", "must be an adapter's name (a non-empty string), got " + request["adapter"].dump());
    }
    out.adapter = request["adapter"].get<std::string>();
  }
  return out;
}

}  // namespace attune::serving
