// Continuous batching for models that work in steps (beam search, one token a step):
// requests join the running batch between two steps and leave it at the step their
// last input ends, instead of waiting for a whole batch to finish (static batching).
// One worker thread owns the model, as in DynamicBatcher.
#pragma once
#include "tasks/serving/batcher.h"

#include <memory>
#include <unordered_map>
#include <utility>

namespace attune::serving {

// A model's side of continuous batching. Only the worker thread calls it.
class Stepper {
 public:
  virtual ~Stepper() = default;
  // Starts inputs (already checked) under `ids`, one id each.
  virtual void join(const std::vector<nlohmann::json>& inputs, const std::vector<int64_t>& ids) = 0;
  // Advances everything started by one step; returns the inputs that ended (at this step,
  // or at join when they needed no step), with their results.
  virtual std::vector<std::pair<int64_t, nlohmann::json>> step() = 0;
  // Drops every input started (after a join or step threw).
  virtual void reset() = 0;
};

struct ContinuousOptions {
  TORCH_ARG(int64_t, max_running) = 32;  // inputs decoded at once; a larger request runs alone
  TORCH_ARG(int64_t, max_queue) = 4096;  // inputs waiting; beyond it submit() refuses (HTTP 503)
};

class ContinuousBatcher : public Batcher {
 public:
  ContinuousBatcher(std::unique_ptr<Stepper> stepper, const ContinuousOptions& options);
  // Finishes what is queued and running, then stops the worker.
  ~ContinuousBatcher() override;
  ContinuousBatcher(const ContinuousBatcher&) = delete;
  ContinuousBatcher& operator=(const ContinuousBatcher&) = delete;

  // A throw of the stepper fails every request that was running (and only those).
  std::future<std::vector<nlohmann::json>> submit(std::vector<nlohmann::json> inputs, Route route = nullptr) override;
  // batches counts steps, mean_batch the inputs running per step.
  BatcherStats stats() const override;

 private:
  struct Request {
    std::vector<nlohmann::json> inputs;
    std::vector<nlohmann::json> results;
    size_t remaining = 0;
    std::promise<std::vector<nlohmann::json>> promise;
  };
  void work();
  // Fails every running request with `error` and resets the stepper.
  void fail_running(const std::exception_ptr& error);

  std::unique_ptr<Stepper> stepper_;
  ContinuousOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Request>> queue_;
  int64_t queued_inputs_ = 0;
  BatcherStats stats_;
  int64_t input_steps_ = 0;  // inputs running, summed over steps
  bool stopping_ = false;
  // Worker thread only: running inputs by id, as (request, index of the input).
  std::unordered_map<int64_t, std::pair<std::shared_ptr<Request>, size_t>> running_;
  int64_t next_id_ = 0;
  std::thread worker_;
};

}  // namespace attune::serving
