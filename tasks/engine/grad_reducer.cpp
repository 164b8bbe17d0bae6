#include "tasks/engine/grad_reducer.h"

namespace attune::engine {

GradReducer::GradReducer(Distributed& group, std::vector<torch::Tensor> parameters, int64_t bucket_bytes)
    : group_(group), parameters_(std::move(parameters)) {
  // Backward produces the last layers' gradients first; buckets follow that order so that
  // a later overlap with backward can start the first bucket early.
  for (size_t k = parameters_.size(); k-- > 0;) {
    const torch::Tensor& p = parameters_[k];
    const bool fits = !buckets_.empty() && buckets_.back().flat.scalar_type() == p.scalar_type() &&
                      buckets_.back().flat.device() == p.device() &&
                      (buckets_.back().elements + p.numel()) * p.element_size() <= bucket_bytes;
    if (!fits) {
      buckets_.emplace_back();
      buckets_.back().flat = torch::empty({0}, p.options());
    }
    buckets_.back().members.push_back(k);
    buckets_.back().elements += p.numel();
  }
  for (auto& b : buckets_) {
    b.flat = torch::empty({b.elements + static_cast<int64_t>(b.members.size())}, b.flat.options());
  }
}

void GradReducer::reduce() {
  std::vector<std::unique_ptr<Distributed::Pending>> pending;
  std::vector<bool> complete;  // every member had a gradient here: no flag needs reading
  for (auto& b : buckets_) {
    int64_t offset = 0;
    std::vector<float> flags;
    for (size_t k : b.members) {
      const torch::Tensor& p = parameters_[k];
      const torch::Tensor slice = b.flat.narrow(0, offset, p.numel());
      const torch::Tensor grad = p.grad();
      if (grad.defined()) {
        slice.copy_(grad.reshape({-1}));
      } else {
        slice.zero_();
      }
      flags.push_back(grad.defined() ? 1.0f : 0.0f);
      offset += p.numel();
    }
    b.flat.narrow(0, offset, static_cast<int64_t>(flags.size()))
        .copy_(torch::tensor(flags).to(b.flat.scalar_type()));
    complete.push_back(std::find(flags.begin(), flags.end(), 0.0f) == flags.end());
    pending.push_back(group_.all_reduce_sum_async(b.flat));
  }
  for (size_t i = 0; i < buckets_.size(); ++i) {
    pending[i]->wait();
    Bucket& b = buckets_[i];
    torch::Tensor present;
    if (!complete[i]) present = b.flat.narrow(0, b.elements, static_cast<int64_t>(b.members.size())).to(torch::kCPU, torch::kFloat);
    int64_t offset = 0;
    for (size_t j = 0; j < b.members.size(); ++j) {
      torch::Tensor& p = parameters_[b.members[j]];
      const torch::Tensor summed = b.flat.narrow(0, offset, p.numel()).view(p.sizes());
      offset += p.numel();
      if (present.defined() && present[static_cast<int64_t>(j)].item<float>() == 0.0f) continue;
      if (p.grad().defined()) {
        p.mutable_grad().copy_(summed);
      } else {
        p.mutable_grad() = summed.clone();
      }
    }
  }
}

}  // namespace attune::engine
