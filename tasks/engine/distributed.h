// A data-parallel group of attune processes on LibTorch's c10d: a TCPStore for the
// rendezvous, Gloo on the CPU and NCCL on CUDA for the collectives. Every collective
// waits at most DistributedOptions::timeout; when one fails, the error names the rank
// that stopped (its heartbeat in the store stopped) instead of hanging.
#pragma once
#include "tasks/engine/rendezvous.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace c10d {
class Store;
}

namespace attune::engine {

struct DistributedOptions {
  // Rendezvous, and each collective: a rank that dies or hangs stops the others after this.
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  // The device the collectives run on: CUDA uses NCCL, the CPU Gloo.
  torch::Device device = torch::kCPU;
};

// What ranks must agree on before they train together; each part is compared on its own
// so that the refusal says which one differs.
struct Fingerprint {
  std::string config;  // the run config without the per-rank keys (device, threads)
  std::string code;    // the attune executable
  std::string data;    // the sizes of the files the config names
  nlohmann::json to_json() const;
};

// The fingerprint of a run config and of this executable.
Fingerprint fingerprint_of(const nlohmann::json& config);

class Distributed {
 public:
  // Joins the group: rank 0 serves the TCPStore at master_addr:master_port, every rank
  // checks in with its fingerprint, rank 0 compares them, and then the process group is
  // built. A differing fingerprint, a rank that does not arrive within the timeout, a
  // port in use and an unreachable master each fail with one line.
  static std::shared_ptr<Distributed> connect(const Rendezvous& where, const Fingerprint& fingerprint,
                                              const DistributedOptions& options);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return where_.rank; }
  int world_size() const { return where_.world_size; }
  int local_rank() const { return where_.local_rank; }
  const Rendezvous& rendezvous() const { return where_; }
  bool is_main() const { return where_.rank == 0; }
  // Where the collectives run (NCCL's tensors must be on this GPU).
  const torch::Device& device() const { return options_.device; }

  // In place, on every rank; all ranks call them in the same order.
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  // Starts a sum and returns at once; wait() completes it (gradient buckets overlap this way).
  class Pending;
  std::unique_ptr<Pending> all_reduce_sum_async(torch::Tensor& flat);
  std::string broadcast_string(const std::string& text, int root = 0);
  bool any(bool flag);  // true on every rank when it is true on one
  // Every rank's `value`, indexed by rank, on every rank.
  std::vector<double> gather_numbers(double value);
  // From one rank to another (ZeRO's shards to rank 0); each returns once its side is done.
  void send(torch::Tensor& tensor, int to);
  void recv(torch::Tensor& tensor, int from);
  void barrier();

 private:
  Distributed(Rendezvous where, DistributedOptions options);
  void start_heartbeat();
  // Turns a failed collective into one line that names the lost rank(s).
  [[noreturn]] void lost(const std::string& operation, const std::string& detail);
  // Runs `collective` (start it and wait), turning its failure into lost(operation, ...).
  void guarded(const std::string& operation, const std::function<void()>& collective);
  friend class Pending;

  struct Group;
  Rendezvous where_;
  DistributedOptions options_;
  std::unique_ptr<Group> group_;
  std::atomic<bool> stop_heartbeat_{false};
  std::thread heartbeat_;
};

class Distributed::Pending {
 public:
  void wait();
  ~Pending();
 private:
  friend class Distributed;
  struct Work;
  Pending(Distributed& owner, std::unique_ptr<Work> work);
  Distributed& owner_;
  std::unique_ptr<Work> work_;
};

// True when this build forms CPU groups: Gloo's headers were found at build time (a pip
// PyTorch's LibTorch has none; Debian's with libgloo-dev has them).
bool has_gloo();

// The group of this process, from the launcher's environment (rendezvous_from_env);
// null when it runs alone. `config` is the run config every rank must share; its device
// decides the backend, and on CUDA each worker takes its node's GPU LOCAL_RANK, written
// back into config["device"].
std::shared_ptr<Distributed> join_from_environment(nlohmann::json& config, std::chrono::milliseconds timeout);

}  // namespace attune::engine
