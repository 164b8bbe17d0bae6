// Dynamic batching for a model server: concurrent requests, each with one or more
// inputs, are queued and handed to the model together (up to max_batch inputs, waiting
// at most max_wait_ms for a batch to fill), so that many small requests share one
// forward pass. One worker thread owns the model, so the model needs no locking.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace attune::serving {

struct BatcherOptions {
  // Inputs per model call; a request larger than that runs alone, as one call.
  TORCH_ARG(int64_t, max_batch) = 32;
  TORCH_ARG(double, max_wait_ms) = 2.0;   // how long the first queued input waits for company
  TORCH_ARG(int64_t, max_queue) = 4096;   // inputs waiting; beyond it submit() refuses (HTTP 503)
};

// Results for `inputs`, one per input and in order. A throw fails every request of the batch.
using BatchFunction = std::function<std::vector<nlohmann::json>(const std::vector<nlohmann::json>& inputs)>;
// What a request runs with besides its inputs (for `attune serve --adapter`: the adapter
// it named, null for the base model), opaque to the batcher, which only keeps it alive
// until the request's batch has run: an adapter removed meanwhile still serves it.
using Route = std::shared_ptr<const void>;
// A batch function given each input's route (routes[i] for inputs[i]).
using RoutedBatchFunction = std::function<std::vector<nlohmann::json>(const std::vector<nlohmann::json>& inputs,
                                                                      const std::vector<Route>& routes)>;

struct BatcherStats {
  // batches: model calls (decoding steps under continuous batching).
  int64_t requests = 0, inputs = 0, batches = 0, failed_batches = 0, rejected = 0, queued = 0;
  double mean_batch = 0;  // inputs per model call
};

// What a server hands requests to: the dynamic batcher below, or continuous batching
// (tasks/serving/continuous.h) for models that work in steps.
class Batcher {
 public:
  virtual ~Batcher() = default;
  // The results of `inputs`, one per input and in order, once they have run. The future
  // throws what the model threw. Throws QueueFull, without queuing anything, when the
  // queue is full.
  virtual std::future<std::vector<nlohmann::json>> submit(std::vector<nlohmann::json> inputs, Route route = nullptr) = 0;
  virtual BatcherStats stats() const = 0;

  struct QueueFull : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

 protected:
  // Under the caller's lock, before queuing n inputs: throws QueueFull while stopping, or
  // when `queued` inputs wait and n more would pass max_queue (counted in stats.rejected).
  // An empty queue always accepts, so one request larger than max_queue still runs.
  static void check_room(bool stopping, int64_t queued, int64_t n, int64_t max_queue, BatcherStats& stats);
};

class DynamicBatcher : public Batcher {
 public:
  DynamicBatcher(BatchFunction run, const BatcherOptions& options);
  // Requests with different routes share batches; the function tells them apart.
  DynamicBatcher(RoutedBatchFunction run, const BatcherOptions& options);
  // Finishes what is queued, then stops the worker.
  ~DynamicBatcher();
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Inputs wait until their batch has run; a throw of the batch function fails every
  // request of the batch.
  std::future<std::vector<nlohmann::json>> submit(std::vector<nlohmann::json> inputs, Route route = nullptr) override;
  BatcherStats stats() const override;
  const BatcherOptions& options() const { return options_; }

 private:
  struct Request {
    std::vector<nlohmann::json> inputs;
    Route route;
    std::promise<std::vector<nlohmann::json>> promise;
    std::chrono::steady_clock::time_point queued_at;
  };
  void work();

  RoutedBatchFunction run_;
  BatcherOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Request>> queue_;
  int64_t queued_inputs_ = 0;
  BatcherStats stats_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace attune::serving
