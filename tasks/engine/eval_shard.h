// Evaluation split over the ranks of a data-parallel group. An evaluation's batches are
// dealt out (batch i to rank i mod world), each rank computes its own, and the parts are
// put together on every rank before the metrics are computed from the whole. The batches
// keep the shapes one process gives them, so the gathered outputs, and the metrics, are
// bit for bit those of a single-process evaluation.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attune::engine {

class Distributed;

class EvalShard {
 public:
  EvalShard() = default;  // this process alone computes every batch
  explicit EvalShard(Distributed* group);

  bool owns(int64_t batch) const { return world_ == 1 || batch % world_ == rank_; }
  int world() const { return world_; }

  // Entries written by the rank that owns them and zero elsewhere, made whole on every
  // rank: a sum over the ranks (x + 0 is x exactly). Keeps the tensor's device and dtype.
  torch::Tensor combine(const torch::Tensor& partial) const;
  // The same for texts: each rank's non-empty entries reach every rank.
  std::vector<std::string> combine(std::vector<std::string> partial) const;

 private:
  Distributed* group_ = nullptr;
  int rank_ = 0;
  int world_ = 1;
};

// Values that one process sums batch by batch, kept per batch so that a sharded
// evaluation adds them in the same order: combine() then total() give the same bits.
class PerBatchSums {
 public:
  PerBatchSums(int64_t batches, int64_t values, const torch::Device& device);
  // Row `batch`: the batch's values (a float64 tensor of `values` entries, on the device).
  void set(int64_t batch, const torch::Tensor& values);
  // Column sums over the batches, in batch order, after combining the ranks' rows.
  std::vector<double> total(const EvalShard& shard) const;

 private:
  torch::Tensor rows_;
};

}  // namespace attune::engine
