#include "tasks/engine/zero.h"

#include <algorithm>
#include <numeric>

namespace attune::engine {
namespace {

std::vector<int64_t> numels_of(const std::vector<torch::Tensor>& tensors) {
  std::vector<int64_t> numels;
  for (const auto& t : tensors) numels.push_back(t.numel());
  return numels;
}

int64_t bucket_elements(const std::vector<torch::Tensor>& params, const std::vector<size_t>& members, int64_t copies) {
  int64_t n = 0;
  for (size_t k : members) n += copies * params[k].numel();
  return n;
}

}  // namespace

ZeroPartition::ZeroPartition(const std::vector<int64_t>& numels, int world_size)
    : owners_(numels.size(), 0), owned_(static_cast<size_t>(std::max(world_size, 1))), elements_(owned_.size(), 0) {
  TORCH_CHECK(world_size >= 1, "ZeroPartition: world size ", world_size);
  // Largest first: a greedy fill in parameter order could leave one rank a whole
  // embedding matrix ahead when it comes last.
  std::vector<size_t> order(numels.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return numels[a] > numels[b]; });
  for (size_t k : order) {
    const auto lightest = std::min_element(elements_.begin(), elements_.end());  // the first: the lowest rank
    owners_[k] = static_cast<int>(lightest - elements_.begin());
    *lightest += numels[k];
  }
  for (size_t k = 0; k < numels.size(); ++k) owned_[owners_[k]].push_back(k);
}

ShardedOptimizerState::ShardedOptimizerState(Distributed& group, AdamW& optimizer, int64_t bucket_bytes)
    : group_(group),
      optimizer_(optimizer),
      parameters_(parameters_of(optimizer)),
      partition_(numels_of(parameters_), group.world_size()),
      bucket_bytes_(bucket_bytes) {
  for (int owner = 0; owner < partition_.world_size(); ++owner) {
    broadcast_buckets_.push_back(buckets_of(partition_.owned_by(owner), 1));
  }
  drop_foreign_state();
}

std::vector<std::vector<size_t>> ShardedOptimizerState::buckets_of(const std::vector<size_t>& members,
                                                                   int64_t copies) const {
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = 0;
  for (size_t k : members) {
    const torch::Tensor& p = parameters_[k];
    const int64_t size = copies * p.numel() * static_cast<int64_t>(p.element_size());
    bool fits = !buckets.empty() && bytes + size <= bucket_bytes_;
    if (fits) {
      const torch::Tensor& first = parameters_[buckets.back().front()];
      fits = first.scalar_type() == p.scalar_type() && first.device() == p.device();
    }
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(k);
    bytes += size;
  }
  return buckets;
}

void ShardedOptimizerState::step() {
  // AdamW (LibTorch's step and the fused one alike) skips a parameter without a gradient
  // and creates no state for it. The gradients come back after the update: stage 1
  // shards no gradient, and AdaLoRA's rank allocation reads all of them after the step.
  const int me = group_.rank();
  std::vector<std::pair<size_t, torch::Tensor>> hidden;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    torch::Tensor& p = parameters_[k];
    if (partition_.owner(k) == me || !p.grad().defined()) continue;
    hidden.emplace_back(k, p.grad());
    p.mutable_grad() = torch::Tensor();
  }
  optimizer_.step();
  for (auto& [k, grad] : hidden) parameters_[k].mutable_grad() = std::move(grad);
  broadcast_parameters();
}

void ShardedOptimizerState::broadcast_parameters() {
  torch::NoGradGuard no_grad;
  for (int owner = 0; owner < partition_.world_size(); ++owner) {
    for (const auto& bucket : broadcast_buckets_[owner]) {
      std::vector<torch::Tensor> members;
      for (size_t k : bucket) members.push_back(parameters_[k]);
      std::vector<torch::Tensor> flat = {
          owner == group_.rank() ? at::flatten_dense_tensors(members)
                                 : torch::empty({bucket_elements(parameters_, bucket, 1)}, members.front().options())};
      group_.broadcast(flat, owner);
      if (owner == group_.rank()) continue;
      int64_t offset = 0;
      for (auto& p : members) {
        p.copy_(flat[0].narrow(0, offset, p.numel()).view(p.sizes()));
        offset += p.numel();
      }
    }
  }
}

void ShardedOptimizerState::gather_to_main() {
  for (int owner = 1; owner < partition_.world_size(); ++owner) {
    if (group_.rank() == owner) send_state(owner);
    if (group_.is_main()) receive_state(owner);
  }
}

// What goes to rank 0: first, per owned parameter, whether it has a state (one that never
// had a gradient has none) and its step count; then the exp_avg and exp_avg_sq of those
// that have one, in buckets.
void ShardedOptimizerState::send_state(int owner) {
  const std::vector<size_t>& mine = partition_.owned_by(owner);
  if (mine.empty()) return;
  std::vector<int64_t> meta;
  std::vector<size_t> present;
  for (size_t k : mine) {
    const torch::optim::AdamWParamState* s = optimizer_.state_of(parameters_[k]);
    meta.push_back(s ? 1 : 0);
    meta.push_back(s ? s->step() : 0);
    if (s) present.push_back(k);
  }
  torch::Tensor header = torch::tensor(meta, torch::kLong).to(parameters_[mine.front()].device());
  group_.send(header, 0);
  for (const auto& bucket : buckets_of(present, 2)) {
    std::vector<torch::Tensor> parts;
    for (size_t k : bucket) {
      const torch::optim::AdamWParamState* s = optimizer_.state_of(parameters_[k]);
      parts.push_back(s->exp_avg());
      parts.push_back(s->exp_avg_sq());
    }
    torch::Tensor flat = at::flatten_dense_tensors(parts);
    group_.send(flat, 0);
  }
}

void ShardedOptimizerState::receive_state(int owner) {
  const std::vector<size_t>& theirs = partition_.owned_by(owner);
  if (theirs.empty()) return;
  const torch::Tensor& first = parameters_[theirs.front()];
  torch::Tensor header = torch::empty({2 * static_cast<int64_t>(theirs.size())},
                                      torch::TensorOptions().dtype(torch::kLong).device(first.device()));
  group_.recv(header, owner);
  header = header.cpu();
  const int64_t* h = header.data_ptr<int64_t>();
  std::vector<size_t> present;
  std::vector<int64_t> steps(parameters_.size(), 0);
  for (size_t i = 0; i < theirs.size(); ++i) {
    if (h[2 * i] == 0) continue;
    present.push_back(theirs[i]);
    steps[theirs[i]] = h[2 * i + 1];
  }
  for (const auto& bucket : buckets_of(present, 2)) {
    const torch::Tensor& p0 = parameters_[bucket.front()];
    torch::Tensor flat = torch::empty({bucket_elements(parameters_, bucket, 2)}, p0.options());
    group_.recv(flat, owner);
    // Kept in host memory until the checkpoint is written: rank 0's device then never
    // holds more than its own shard and one bucket.
    const torch::Tensor host = flat.to(torch::kCPU);
    int64_t offset = 0;
    auto next = [&](const torch::Tensor& p) {
      torch::Tensor t = host.narrow(0, offset, p.numel()).view(p.sizes()).clone();
      offset += p.numel();
      return t;
    };
    for (size_t k : bucket) {
      const torch::Tensor& p = parameters_[k];
      auto state = std::make_unique<torch::optim::AdamWParamState>();
      state->step(steps[k]);
      state->exp_avg(next(p));
      state->exp_avg_sq(next(p));
      optimizer_.set_state_of(p, std::move(state));
    }
  }
}

void ShardedOptimizerState::drop_foreign_state() {
  for (size_t k = 0; k < parameters_.size(); ++k) {
    if (partition_.owner(k) != group_.rank()) optimizer_.drop_state_of(parameters_[k]);
  }
}

}  // namespace attune::engine
