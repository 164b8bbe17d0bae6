// `attune train --nproc-per-node N`: this executable started N times on this node with
// torchrun's variables, so that every worker joins the group exactly as under torchrun.
#pragma once
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace attune::engine {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;            // 0: a free port of this host (one node only)
  std::vector<std::string> args;  // each worker's command line after the executable
  // After a worker fails, the others get SIGTERM (they checkpoint nothing: the group is
  // broken) and, this long after, SIGKILL.
  std::chrono::milliseconds grace = std::chrono::seconds(10);
  std::ostream* log = nullptr;  // the launch line; nullptr = std::cerr
};

// Starts the workers, forwards SIGINT and SIGTERM to them, and waits for all. Returns 0
// when every worker succeeded and 130 when they stopped on a forwarded interrupt; a
// worker that fails otherwise stops the others and fails naming its rank and status.
int launch_workers(const LaunchOptions& options);

// A TCP port that was free on `address` a moment ago.
int free_port(const std::string& address);

}  // namespace attune::engine
