// Continuous batching: inputs join between steps and leave at the step they end, so a
// short request does not wait for a long one that started before it.
#include "tests/catch.h"

#include "tasks/serving/continuous.h"

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

using attune::serving::ContinuousBatcher;
using attune::serving::ContinuousOptions;
using attune::serving::Stepper;
using nlohmann::json;

namespace {

// Input n needs n steps and answers n * 10; a negative input makes the step throw.
// Records how many inputs each step ran.
class CountdownStepper : public Stepper {
 public:
  explicit CountdownStepper(std::vector<int64_t>* running_per_step, std::chrono::milliseconds step_time)
      : running_per_step_(running_per_step), step_time_(step_time) {}
  void join(const std::vector<json>& inputs, const std::vector<int64_t>& ids) override {
    for (size_t i = 0; i < inputs.size(); ++i) left_[ids[i]] = {inputs[i].get<int64_t>(), inputs[i].get<int64_t>()};
  }
  std::vector<std::pair<int64_t, json>> step() override {
    running_per_step_->push_back(static_cast<int64_t>(left_.size()));
    std::this_thread::sleep_for(step_time_);
    std::vector<std::pair<int64_t, json>> ended;
    for (auto it = left_.begin(); it != left_.end();) {
      if (it->second.first < 0) throw std::runtime_error("step failed on input " + std::to_string(it->second.first));
      if (--it->second.second <= 0) {
        ended.emplace_back(it->first, it->second.first * 10);
        it = left_.erase(it);
      } else {
        ++it;
      }
    }
    return ended;
  }
  void reset() override { left_.clear(); }

 private:
  std::vector<int64_t>* running_per_step_;
  std::chrono::milliseconds step_time_;
  std::map<int64_t, std::pair<int64_t, int64_t>> left_;  // id -> (input, steps left)
};

}  // namespace

TEST_CASE("continuous batching answers each request at the step its inputs end, not when the batch ends",
          "[serving][continuous]") {
  std::vector<int64_t> running_per_step;
  ContinuousBatcher batcher(std::make_unique<CountdownStepper>(&running_per_step, std::chrono::milliseconds(2)),
                            ContinuousOptions().max_running(8));
  const auto start = std::chrono::steady_clock::now();
  auto long_request = batcher.submit({json(200)});  // 200 steps, ~400 ms
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto short_request = batcher.submit({json(3), json(1)});
  const std::vector<json> short_out = short_request.get();
  const double short_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(short_out == std::vector<json>{30, 10});
  // Static batching would answer it after the long request; it joined the running batch.
  CHECK(long_request.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  CHECK(long_request.get() == std::vector<json>{2000});
  const double long_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(short_s < long_s / 2);
  const auto stats = batcher.stats();
  CHECK(stats.requests == 2);
  CHECK(stats.inputs == 3);
  CHECK(stats.batches == static_cast<int64_t>(running_per_step.size()));
  CHECK(stats.batches >= 200);
  CHECK(stats.batches < 210);  // the short inputs rode along: no steps of their own
}

TEST_CASE("continuous batching runs at most max_running inputs a step and answers every request with its own results",
          "[serving][continuous]") {
  std::vector<int64_t> running_per_step;
  ContinuousBatcher batcher(std::make_unique<CountdownStepper>(&running_per_step, std::chrono::milliseconds(0)),
                            ContinuousOptions().max_running(6));
  std::atomic<int64_t> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 10; ++c) {
    clients.emplace_back([&, c] {
      for (int r = 0; r < 15; ++r) {
        std::vector<json> inputs;
        for (int k = 0; k <= (c + r) % 3; ++k) inputs.push_back(1 + (c * 7 + r * 3 + k) % 9);
        const std::vector<json> got = batcher.submit(inputs).get();
        if (got.size() != inputs.size()) {
          ++wrong;
          continue;
        }
        for (size_t k = 0; k < inputs.size(); ++k) {
          if (got[k] != inputs[k].get<int64_t>() * 10) ++wrong;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(wrong == 0);
  int64_t most = 0;
  for (int64_t n : running_per_step) most = std::max(most, n);
  CHECK(most <= 6);
  CHECK(most > 1);  // requests did share steps
  CHECK(batcher.stats().mean_batch > 1.0);
}

TEST_CASE("a failing step fails the requests running in it; the batcher goes on serving", "[serving][continuous]") {
  std::vector<int64_t> running_per_step;
  ContinuousBatcher batcher(std::make_unique<CountdownStepper>(&running_per_step, std::chrono::milliseconds(0)),
                            ContinuousOptions().max_running(8));
  auto bad = batcher.submit({json(2), json(-1)});
  CHECK_THROWS_WITH(bad.get(), attune::testing::contains_text("step failed on input -1"));
  CHECK(batcher.submit({json(4)}).get() == std::vector<json>{40});
  CHECK(batcher.submit({}).get().empty());
  CHECK(batcher.stats().failed_batches == 1);
}

TEST_CASE("a full queue refuses continuous batching requests without queuing them", "[serving][continuous]") {
  std::vector<int64_t> running_per_step;
  ContinuousBatcher batcher(std::make_unique<CountdownStepper>(&running_per_step, std::chrono::milliseconds(5)),
                            ContinuousOptions().max_running(1).max_queue(2));
  auto first = batcher.submit({json(50)});  // runs; the queue stays free for 2 inputs
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto second = batcher.submit({json(1), json(1)});
  CHECK_THROWS_AS(batcher.submit({json(1)}), ContinuousBatcher::QueueFull);
  CHECK(first.get() == std::vector<json>{500});
  CHECK(second.get() == std::vector<json>{10, 10});
  CHECK(batcher.stats().rejected == 1);
}
