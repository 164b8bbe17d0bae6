#include "tests/catch.h"

#include "tasks/serving/batcher.h"

#include <atomic>
#include <thread>

using attune::serving::BatcherOptions;
using attune::serving::DynamicBatcher;
using nlohmann::json;

TEST_CASE("the dynamic batcher answers every request with its own results, in batches of at most max_batch",
          "[serving]") {
  std::atomic<int64_t> largest{0};
  DynamicBatcher batcher(
      [&](const std::vector<json>& inputs) {
        int64_t n = static_cast<int64_t>(inputs.size());
        for (int64_t seen = largest.load(); n > seen && !largest.compare_exchange_weak(seen, n);) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a forward pass takes time
        std::vector<json> out;
        for (const json& x : inputs) out.push_back(x.get<int64_t>() * 10);
        return out;
      },
      BatcherOptions().max_batch(8).max_wait_ms(5));
  std::atomic<int64_t> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 12; ++c) {
    clients.emplace_back([&, c] {
      for (int r = 0; r < 20; ++r) {
        std::vector<json> inputs;
        for (int k = 0; k <= (c + r) % 3; ++k) inputs.push_back(c * 1000 + r * 10 + k);
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
  const auto stats = batcher.stats();
  CHECK(stats.requests == 240);
  CHECK(largest.load() <= 8);
  CHECK(stats.batches < stats.requests);  // concurrent requests did share forward passes
  CHECK(stats.mean_batch > 1.0);
}

TEST_CASE("a failing batch fails only its own requests; a full queue refuses", "[serving]") {
  DynamicBatcher batcher(
      [](const std::vector<json>& inputs) {
        for (const json& x : inputs) {
          if (x == "bad") throw std::runtime_error("model failed");
        }
        return inputs;
      },
      BatcherOptions().max_batch(4).max_wait_ms(0));
  CHECK_THROWS_WITH(batcher.submit({"bad"}).get(), "model failed");
  CHECK(batcher.submit({"good", "also"}).get() == std::vector<json>{"good", "also"});
  CHECK(batcher.stats().failed_batches == 1);

  // One slow batch holds the worker while the queue (2 inputs) fills.
  std::atomic<bool> release{false};
  DynamicBatcher slow(
      [&](const std::vector<json>& inputs) {
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return inputs;
      },
      BatcherOptions().max_batch(1).max_wait_ms(0).max_queue(2));
  auto first = slow.submit({1});
  while (slow.stats().queued != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // taken by the worker
  auto second = slow.submit({2, 3});
  CHECK_THROWS_AS(slow.submit({4}), DynamicBatcher::QueueFull);
  CHECK(slow.stats().rejected == 1);
  release = true;
  CHECK(first.get() == std::vector<json>{1});
  CHECK(second.get() == std::vector<json>{2, 3});
}
