#include "tasks/engine/grad_reducer.h"

#include "core/error.h"

#include <algorithm>
#include <sstream>

namespace attune::engine {

GradReducer::GradReducer(Distributed& group, std::vector<torch::Tensor> parameters, int64_t bucket_bytes)
    : group_(group), parameters_(std::move(parameters)), place_(parameters_.size()), unused_(parameters_.size(), 0) {
  for (size_t k = parameters_.size(); k-- > 0;) {
    const torch::Tensor& p = parameters_[k];
    const bool fits = !buckets_.empty() && buckets_.back().flat.scalar_type() == p.scalar_type() &&
                      buckets_.back().flat.device() == p.device() &&
                      (buckets_.back().elements + p.numel()) * p.element_size() <= bucket_bytes;
    if (!fits) {
      buckets_.emplace_back();
      buckets_.back().flat = torch::empty({0}, p.options());
    }
    Bucket& b = buckets_.back();
    place_[k] = {buckets_.size() - 1, b.members.size()};
    b.members.push_back(k);
    b.offsets.push_back(b.elements);
    b.elements += p.numel();
  }
  for (auto& b : buckets_) {
    b.flat = torch::empty({b.elements + static_cast<int64_t>(b.members.size())}, b.flat.options());
    b.waiting = b.members.size();
  }
  for (size_t k = 0; k < parameters_.size(); ++k) {
    hooks_.push_back(parameters_[k].register_hook([this, k](const at::TensorBase& grad) { on_gradient(k, torch::Tensor(grad)); }));
  }
}

GradReducer::~GradReducer() {
  for (size_t k = 0; k < hooks_.size(); ++k) parameters_[k].remove_hook(hooks_[k]);
}

void GradReducer::arm() {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = true;
}

void GradReducer::on_gradient(size_t parameter, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;
  if (unused_[parameter]) {
    std::ostringstream shape;
    shape << parameters_[parameter].sizes();
    fail("train", "parameter " + std::to_string(parameter) + " of " + std::to_string(parameters_.size()) + " (shape " +
                      shape.str() + ") got a gradient, but none in the first step on any rank: data-parallel steps must "
                      "train the same parameters every time");
  }
  const auto [bucket, member] = place_[parameter];
  Bucket& b = buckets_[bucket];
  if (b.work) return;  // already started (a parameter reached twice cannot happen for leaves; be safe)
  const torch::Tensor& p = parameters_[parameter];
  torch::Tensor slice = b.flat.narrow(0, b.offsets[member], p.numel());
  // What AccumulateGrad is about to store: the earlier micro-batches' sum plus this one.
  const torch::Tensor earlier = p.grad();
  if (earlier.defined()) {
    slice.copy_((earlier + grad).reshape({-1}));
  } else {
    slice.copy_(grad.reshape({-1}));
  }
  --b.waiting;
  start_ready();
}

void GradReducer::start_ready() {
  while (next_ < buckets_.size() && buckets_[next_].waiting == 0) {
    Bucket& b = buckets_[next_];
    b.flat.narrow(0, b.elements, static_cast<int64_t>(b.members.size())).fill_(1);
    b.complete = true;
    start(b);
    ++overlapped_;
  }
}

void GradReducer::fill_from_grads(Bucket& b) {
  std::vector<float> flags;
  for (size_t j = 0; j < b.members.size(); ++j) {
    const torch::Tensor& p = parameters_[b.members[j]];
    torch::Tensor slice = b.flat.narrow(0, b.offsets[j], p.numel());
    const torch::Tensor grad = p.grad();
    if (grad.defined()) {
      slice.copy_(grad.reshape({-1}));
    } else if (!unused_[b.members[j]]) {
      slice.zero_();  // an unused parameter's slot is zero on every rank since the first step
    }
    flags.push_back(grad.defined() || unused_[b.members[j]] ? 1.0f : 0.0f);
  }
  if (flags != b.local_flags || !b.flags_on_device.defined()) {
    TORCH_CHECK(!capturing_, "a CUDA graph captured a step whose parameters without a gradient differ from its eager "
                             "step's; the step is not the same every time");
    b.local_flags = flags;
    b.flags_on_device = torch::tensor(flags).to(b.flat.device(), b.flat.scalar_type());
    b.summed_flags.clear();
  }
  b.flat.narrow(0, b.elements, static_cast<int64_t>(flags.size())).copy_(b.flags_on_device);
  b.complete = std::find(flags.begin(), flags.end(), 0.0f) == flags.end();
}

void GradReducer::start(Bucket& b) {
  b.work = group_.all_reduce_sum_async(b.flat);
  ++next_;
}

void GradReducer::reduce() {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = false;
  // Backward is over: every gradient is in p.grad. The rest start in order.
  while (next_ < buckets_.size()) {
    fill_from_grads(buckets_[next_]);
    start(buckets_[next_]);
  }
  for (auto& b : buckets_) {
    b.work->wait();
    b.work.reset();
    if (!b.complete && !capturing_) {
      const torch::Tensor present =
          b.flat.narrow(0, b.elements, static_cast<int64_t>(b.members.size())).to(torch::kCPU, torch::kFloat).contiguous();
      b.summed_flags.assign(present.data_ptr<float>(), present.data_ptr<float>() + present.numel());
    }
    TORCH_CHECK(b.complete || b.summed_flags.size() == b.members.size(),
                "a CUDA graph captured a step with a missing gradient before an eager step had one");
    for (size_t j = 0; j < b.members.size(); ++j) {
      torch::Tensor& p = parameters_[b.members[j]];
      const torch::Tensor summed = b.flat.narrow(0, b.offsets[j], p.numel()).view(p.sizes());
      if (unused_[b.members[j]]) continue;
      if (!b.complete && b.summed_flags[j] == 0.0f) {
        if (!learned_) {
          unused_[b.members[j]] = 1;
          ++b.unused;
        }
        continue;
      }
      if (p.grad().defined()) {
        p.mutable_grad().copy_(summed);
      } else {
        p.mutable_grad() = summed.clone();
      }
    }
    b.waiting = b.members.size() - b.unused;
  }
  learned_ = true;
  next_ = 0;
}

}  // namespace attune::engine
