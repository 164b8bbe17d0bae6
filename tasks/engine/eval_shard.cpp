#include "tasks/engine/eval_shard.h"

#include "tasks/engine/distributed.h"

#include <nlohmann/json.hpp>

namespace attune::engine {

EvalShard::EvalShard(Distributed* group) : group_(group) {
  if (group_) {
    rank_ = group_->rank();
    world_ = group_->world_size();
  }
}

torch::Tensor EvalShard::combine(const torch::Tensor& partial) const {
  if (!group_ || world_ == 1) return partial;
  // Gloo and NCCL sum floating point and 64-bit integers; other types travel as those.
  const bool floating = partial.is_floating_point();
  const torch::ScalarType wire = floating && partial.scalar_type() != torch::kDouble ? torch::kFloat
                                 : floating                                           ? torch::kDouble
                                                                                      : torch::kLong;
  std::vector<torch::Tensor> t = {partial.to(group_->device(), wire).contiguous()};
  group_->all_reduce_sum(t);
  return t[0].to(partial.device(), partial.scalar_type());
}

std::vector<std::string> EvalShard::combine(std::vector<std::string> partial) const {
  if (!group_ || world_ == 1) return partial;
  for (int from = 0; from < world_; ++from) {
    std::string message;
    if (from == rank_) {
      nlohmann::json mine = nlohmann::json::object();
      for (size_t i = 0; i < partial.size(); ++i) {
        if (!partial[i].empty()) mine[std::to_string(i)] = partial[i];
      }
      message = mine.dump();
    }
    const nlohmann::json theirs = nlohmann::json::parse(group_->broadcast_string(message, from));
    if (from == rank_) continue;
    for (const auto& [index, text] : theirs.items()) partial.at(std::stoul(index)) = text.get<std::string>();
  }
  return partial;
}

PerBatchSums::PerBatchSums(int64_t batches, int64_t values, const torch::Device& device)
    : rows_(torch::zeros({batches, values}, torch::TensorOptions().dtype(torch::kDouble).device(device))) {}

void PerBatchSums::set(int64_t batch, const torch::Tensor& values) { rows_[batch].copy_(values); }

std::vector<double> PerBatchSums::total(const EvalShard& shard) const {
  const torch::Tensor rows = shard.combine(rows_).cpu().contiguous();
  const auto r = rows.accessor<double, 2>();
  std::vector<double> sums(static_cast<size_t>(rows.size(1)), 0.0);
  for (int64_t b = 0; b < rows.size(0); ++b) {
    for (int64_t v = 0; v < rows.size(1); ++v) sums[v] += r[b][v];
  }
  return sums;
}

}  // namespace attune::engine
