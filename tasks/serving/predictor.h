// What a model server needs from a task: input checking, one request at a time, and
// the batched computation, which the DynamicBatcher calls from its single worker.
#pragma once
#include "tasks/serving/batcher.h"
#include "tasks/serving/continuous.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

namespace attune::serving {

struct Predictor {
  std::string task;
  nlohmann::json info;  // shown by GET /health (labels, max_length, ...)
  // Throws UserError naming `where` (e.g. "inputs[2]") for an input the model cannot take,
  // so a bad input is refused with 400 before it is batched with other requests.
  std::function<void(const nlohmann::json& input, const std::string& where)> check;
  BatchFunction run;
  // Set where the model works in steps and can take inputs mid-way (translation): the
  // server batches continuously with it instead of calling run.
  std::function<std::unique_ptr<Stepper>()> stepper;
};

}  // namespace attune::serving
