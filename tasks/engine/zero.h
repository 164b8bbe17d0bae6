// ZeRO stage 1 (train.zero: 1; docs/distributed.md), as PyTorch's ZeroRedundancyOptimizer
// and DeepSpeed's stage 1 do it: AdamW's state (exp_avg and exp_avg_sq, 8 bytes per fp32
// parameter) is sharded over a data-parallel group. Every rank still holds the whole
// model and the whole summed gradient; each updates only the parameters it owns, so it
// holds only their state, and then sends them to the other ranks. Checkpoints keep the
// format of an unsharded run, so a run resumes with ZeRO on or off.
#pragma once
#include "tasks/engine/distributed.h"
#include "tasks/engine/optimizer.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attune::engine {

// Which rank owns each parameter: the largest first, each to the rank that owns the
// fewest elements so far (ties: the lower rank; equal sizes keep parameter order), as
// ZeroRedundancyOptimizer partitions. A function of the sizes alone, so every rank
// computes the same partition.
class ZeroPartition {
 public:
  ZeroPartition(const std::vector<int64_t>& numels, int world_size);

  int world_size() const { return static_cast<int>(owned_.size()); }
  int owner(size_t parameter) const { return owners_.at(parameter); }
  // The parameters `rank` owns, in parameter order.
  const std::vector<size_t>& owned_by(int rank) const { return owned_.at(rank); }
  int64_t elements_of(int rank) const { return elements_.at(rank); }

 private:
  std::vector<int> owners_;
  std::vector<std::vector<size_t>> owned_;
  std::vector<int64_t> elements_;
};

class ShardedOptimizerState {
 public:
  // Partitions the optimizer's parameters over the group and drops the state of those
  // this rank does not own (a resumed run has just loaded all of it). Transfers go in
  // flat buckets of about bucket_bytes, one per owner and bucket, not one per tensor.
  ShardedOptimizerState(Distributed& group, AdamW& optimizer, int64_t bucket_bytes = 25LL << 20);

  // The update of a step whose gradients are summed and clipped: AdamW on the parameters
  // this rank owns, then each parameter broadcast from its owner. Collective.
  void step();

  // Collective, just before rank 0 writes a checkpoint: every owner sends rank 0 the
  // state of its parameters, so that rank 0 holds (and writes) all of it.
  void gather_to_main();
  // Drops the state of the parameters this rank does not own (rank 0's, after writing).
  void drop_foreign_state();

  const ZeroPartition& partition() const { return partition_; }

 private:
  // Consecutive runs of `members` of one dtype and device, each of at most bucket_bytes
  // (times `copies` tensors per member), or a single member larger than that.
  std::vector<std::vector<size_t>> buckets_of(const std::vector<size_t>& members, int64_t copies) const;
  void broadcast_parameters();
  void send_state(int owner);
  void receive_state(int owner);

  Distributed& group_;
  AdamW& optimizer_;
  std::vector<torch::Tensor> parameters_;
  ZeroPartition partition_;
  int64_t bucket_bytes_;
  std::vector<std::vector<std::vector<size_t>>> broadcast_buckets_;  // per owner
};

}  // namespace attune::engine
