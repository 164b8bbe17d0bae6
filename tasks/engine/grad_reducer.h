// Sums the gradients of the trainable parameters over a data-parallel group, in flat
// buckets of about 25 MB (as PyTorch DDP's default) so that a model of a thousand tensors
// costs a few collectives per step, not a thousand. Each micro-batch loss was already
// weighted by its share of the whole group's examples, so the sum is the gradient of the
// global batch's mean loss.
//
// The sums overlap with backward: during a step's last backward, a hook on each parameter
// copies its final gradient into its bucket, and a bucket whose gradients are all in
// starts at once. Buckets start strictly in order (reverse parameter order, roughly the
// order backward reaches them), because every rank must issue the same collectives in the
// same order; a bucket whose parameters got no gradient in that backward starts after it.
//
// As DDP's static_graph, the first step also learns which parameters no rank gives a
// gradient (a pooler that mean pooling never reads): later steps do not wait for them,
// so their buckets still start during backward and no rank has to read presence flags
// back to the host. Such a parameter getting a gradient later fails the run.
#pragma once
#include "tasks/engine/distributed.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace attune::engine {

class GradReducer {
 public:
  // `parameters`: what the optimizer updates (requires_grad only: PEFT's frozen base
  // is never sent).
  GradReducer(Distributed& group, std::vector<torch::Tensor> parameters, int64_t bucket_bytes = 25LL << 20);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Just before the step's last backward: buckets start as their gradients arrive.
  void arm();

  // After backward, before clipping: starts the buckets not started yet, waits for all and
  // writes the sums back. A parameter without a gradient on this rank counts as zero; one
  // without a gradient on every rank keeps none, as in a single process, so AdamW skips
  // it there too.
  void reduce();

  // While a CUDA graph captures a step, nothing may cross between host and device: the
  // presence flags of a bucket with a missing gradient are then those its last eager step
  // uploaded and read (a captured step replays the same backward, so the same gradients
  // are missing; a different pattern fails instead).
  void set_capturing(bool capturing) { capturing_ = capturing; }

  size_t buckets() const { return buckets_.size(); }
  // Buckets started while backward still ran, over all steps so far.
  int64_t overlapped() const { return overlapped_; }

 private:
  struct Bucket {
    std::vector<size_t> members;   // indices into parameters_, in backward (reverse) order
    std::vector<int64_t> offsets;  // of each member's gradient in `flat`
    int64_t elements = 0;          // gradient elements; one presence flag per member follows
    torch::Tensor flat;
    size_t waiting = 0;            // members whose gradient has not arrived in this backward
    bool complete = false;         // every member had a gradient: no flag needs reading
    std::unique_ptr<Distributed::Pending> work;
    std::vector<float> local_flags;  // this rank's presence flags as last uploaded
    torch::Tensor flags_on_device;   // ... and on the bucket's device
    std::vector<float> summed_flags;  // the group's, as last read back (0: no rank had it)
    size_t unused = 0;               // members no rank gave a gradient in the first step
  };
  void on_gradient(size_t parameter, const torch::Tensor& grad);
  void start_ready();           // the next buckets in order whose gradients are all in
  void fill_from_grads(Bucket& b);
  void start(Bucket& b);

  Distributed& group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> place_;  // parameter -> (bucket, member)
  std::vector<unsigned> hooks_;
  std::mutex mutex_;  // hooks of CUDA parameters run on autograd's device threads
  bool armed_ = false;
  bool capturing_ = false;
  bool learned_ = false;       // the first reduce() has found the unused parameters
  std::vector<char> unused_;   // per parameter
  size_t next_ = 0;   // the next bucket to start
  int64_t overlapped_ = 0;
};

}  // namespace attune::engine
