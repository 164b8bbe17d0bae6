#include "tasks/serving/continuous.h"

namespace attune::serving {

ContinuousBatcher::ContinuousBatcher(std::unique_ptr<Stepper> stepper, const ContinuousOptions& options)
    : stepper_(std::move(stepper)), options_(options) {
  TORCH_CHECK(stepper_, "ContinuousBatcher: no stepper");
  TORCH_CHECK(options_.max_running() >= 1 && options_.max_queue() >= 1,
              "ContinuousBatcher: max_running and max_queue must be >= 1");
  worker_ = std::thread([this] { work(); });
}

ContinuousBatcher::~ContinuousBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::future<std::vector<nlohmann::json>> ContinuousBatcher::submit(std::vector<nlohmann::json> inputs, Route) {
  auto request = std::make_shared<Request>();
  request->inputs = std::move(inputs);
  request->results.resize(request->inputs.size());
  request->remaining = request->inputs.size();
  std::future<std::vector<nlohmann::json>> result = request->promise.get_future();
  const auto n = static_cast<int64_t>(request->inputs.size());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    check_room(stopping_, queued_inputs_, n, options_.max_queue(), stats_);
    ++stats_.requests;
    if (n == 0) {
      request->promise.set_value({});
      return result;
    }
    queue_.push_back(std::move(request));
    queued_inputs_ += n;
  }
  wake_.notify_all();
  return result;
}

BatcherStats ContinuousBatcher::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  BatcherStats s = stats_;
  s.queued = queued_inputs_;
  s.mean_batch = s.batches > 0 ? static_cast<double>(input_steps_) / static_cast<double>(s.batches) : 0.0;
  return s;
}

void ContinuousBatcher::fail_running(const std::exception_ptr& error) {
  std::vector<std::shared_ptr<Request>> failed;
  for (auto& [id, slot] : running_) {
    if (slot.first->remaining > 0) {
      slot.first->remaining = 0;  // answered once, whatever else of it was running
      failed.push_back(slot.first);
    }
  }
  running_.clear();
  for (const auto& request : failed) request->promise.set_exception(error);
  try {
    stepper_->reset();
  } catch (...) {
    // A stepper that cannot reset fails the requests that come next, one by one.
  }
}

void ContinuousBatcher::work() {
  for (;;) {
    std::vector<std::shared_ptr<Request>> admitted;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !running_.empty(); });
      if (queue_.empty() && running_.empty()) return;  // stopping, and nothing left to run
      // Between two steps, queued requests join while there is room; one larger than
      // max_running joins only an empty batch.
      auto running = static_cast<int64_t>(running_.size());
      while (!queue_.empty()) {
        const auto n = static_cast<int64_t>(queue_.front()->inputs.size());
        if (running > 0 && running + n > options_.max_running()) break;
        running += n;
        queued_inputs_ -= n;
        stats_.inputs += n;
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!admitted.empty()) {
      std::vector<nlohmann::json> inputs;
      std::vector<int64_t> ids;
      for (const auto& request : admitted) {
        for (size_t i = 0; i < request->inputs.size(); ++i) {
          running_[next_id_] = {request, i};
          ids.push_back(next_id_++);
          inputs.push_back(std::move(request->inputs[i]));
        }
      }
      try {
        stepper_->join(inputs, ids);
      } catch (...) {
        fail_running(std::current_exception());
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.failed_batches;
        continue;
      }
    }
    const auto stepping = static_cast<int64_t>(running_.size());
    std::vector<std::pair<int64_t, nlohmann::json>> ended;
    std::exception_ptr error;
    try {
      ended = stepper_->step();
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.batches;
      input_steps_ += stepping;
      if (error) ++stats_.failed_batches;
    }
    if (error) {
      fail_running(error);
      continue;
    }
    for (auto& [id, result] : ended) {
      const auto slot = running_.find(id);
      if (slot == running_.end()) continue;  // a stepper bug; the request's other inputs still answer it
      const std::shared_ptr<Request> request = slot->second.first;
      request->results[slot->second.second] = std::move(result);
      running_.erase(slot);
      if (request->remaining > 0 && --request->remaining == 0) request->promise.set_value(std::move(request->results));
    }
  }
}

}  // namespace attune::serving
