// Sums the gradients of the trainable parameters over a data-parallel group, in flat
// buckets of about 25 MB (as PyTorch DDP's default) so that a model of a thousand tensors
// costs a few collectives per step, not a thousand. Each micro-batch loss was already
// weighted by its share of the whole group's examples, so the sum is the gradient of the
// global batch's mean loss.
#pragma once
#include "tasks/engine/distributed.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace attune::engine {

class GradReducer {
 public:
  // `parameters`: what the optimizer updates (requires_grad only: PEFT's frozen base
  // is never sent).
  GradReducer(Distributed& group, std::vector<torch::Tensor> parameters, int64_t bucket_bytes = 25LL << 20);

  // After backward, before clipping. A parameter without a gradient on this rank counts as
  // zero; one without a gradient on every rank keeps none, as in a single process, so
  // AdamW skips it there too.
  void reduce();

  size_t buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into parameters_, in backward (reverse) order
    int64_t elements = 0;         // gradient elements; one presence flag per member follows
    torch::Tensor flat;
  };
  Distributed& group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<Bucket> buckets_;
};

}  // namespace attune::engine
