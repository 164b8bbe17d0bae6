#include "tasks/serving/batcher.h"

namespace attune::serving {

void Batcher::check_room(bool stopping, int64_t queued, int64_t n, int64_t max_queue, BatcherStats& stats) {
  if (stopping) throw QueueFull("the server is shutting down");
  if (queued > 0 && queued + n > max_queue) {
    ++stats.rejected;
    throw QueueFull("queue full (" + std::to_string(queued) + " inputs waiting)");
  }
}

DynamicBatcher::DynamicBatcher(BatchFunction run, const BatcherOptions& options)
    : DynamicBatcher(RoutedBatchFunction([run = std::move(run)](const std::vector<nlohmann::json>& inputs,
                                                                const std::vector<Route>&) { return run(inputs); }),
                     options) {}

DynamicBatcher::DynamicBatcher(RoutedBatchFunction run, const BatcherOptions& options)
    : run_(std::move(run)), options_(options) {
  TORCH_CHECK(options_.max_batch() >= 1 && options_.max_queue() >= 1 && options_.max_wait_ms() >= 0,
              "DynamicBatcher: max_batch and max_queue must be >= 1, max_wait_ms >= 0");
  worker_ = std::thread([this] { work(); });
}

DynamicBatcher::~DynamicBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::future<std::vector<nlohmann::json>> DynamicBatcher::submit(std::vector<nlohmann::json> inputs, Route route) {
  auto request = std::make_shared<Request>();
  request->inputs = std::move(inputs);
  request->route = std::move(route);
  request->queued_at = std::chrono::steady_clock::now();
  std::future<std::vector<nlohmann::json>> result = request->promise.get_future();
  const auto n = static_cast<int64_t>(request->inputs.size());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    check_room(stopping_, queued_inputs_, n, options_.max_queue(), stats_);
    queue_.push_back(std::move(request));
    queued_inputs_ += n;
    ++stats_.requests;
  }
  wake_.notify_all();
  return result;
}

BatcherStats DynamicBatcher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  BatcherStats s = stats_;
  s.queued = queued_inputs_;
  s.mean_batch = s.batches > 0 ? static_cast<double>(s.inputs) / static_cast<double>(s.batches) : 0.0;
  return s;
}

void DynamicBatcher::work() {
  const auto max_wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(options_.max_wait_ms()));
  for (;;) {
    std::vector<std::shared_ptr<Request>> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      // A lone request waits a little for others to share its forward pass.
      const auto deadline = queue_.front()->queued_at + max_wait;
      wake_.wait_until(lock, deadline, [&] { return stopping_ || queued_inputs_ >= options_.max_batch(); });
      int64_t taken = 0;
      while (!queue_.empty()) {
        const auto n = static_cast<int64_t>(queue_.front()->inputs.size());
        if (!batch.empty() && taken + n > options_.max_batch()) break;
        taken += n;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_inputs_ -= taken;
    }
    std::vector<nlohmann::json> inputs;
    std::vector<Route> routes;
    for (const auto& request : batch) {
      inputs.insert(inputs.end(), request->inputs.begin(), request->inputs.end());
      routes.insert(routes.end(), request->inputs.size(), request->route);
    }
    std::vector<nlohmann::json> results;
    std::exception_ptr error;
    try {
      results = run_(inputs, routes);
      if (results.size() != inputs.size()) {
        throw std::runtime_error("the model returned " + std::to_string(results.size()) + " results for " +
                                 std::to_string(inputs.size()) + " inputs");
      }
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.batches;
      stats_.inputs += static_cast<int64_t>(inputs.size());
      if (error) ++stats_.failed_batches;
    }
    size_t offset = 0;
    for (const auto& request : batch) {
      const size_t n = request->inputs.size();
      if (error) {
        request->promise.set_exception(error);
      } else {
        request->promise.set_value(std::vector<nlohmann::json>(results.begin() + static_cast<std::ptrdiff_t>(offset),
                                                               results.begin() + static_cast<std::ptrdiff_t>(offset + n)));
      }
      offset += n;
    }
  }
}

}  // namespace attune::serving
