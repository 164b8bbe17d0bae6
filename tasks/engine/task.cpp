#include "tasks/engine/task.h"

#include "data/batching.h"
#include "tasks/engine/run_dir.h"

#include <algorithm>


namespace attune::engine {

BatchPlan shuffled_batches(std::vector<int64_t> items, int64_t batch_size, int64_t epoch, uint64_t seed) {
  // attune's own permutation, not std::shuffle, whose algorithm each standard library
  // chooses: the same seed gives the same batches on every build (and in Python peers).
  const std::vector<int64_t> order =
      data::seeded_permutation(static_cast<int64_t>(items.size()), seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::vector<int64_t> shuffled;
  shuffled.reserve(items.size());
  for (int64_t i : order) shuffled.push_back(items[static_cast<size_t>(i)]);
  items = std::move(shuffled);
  BatchPlan plan;
  for (size_t from = 0; from < items.size(); from += static_cast<size_t>(batch_size)) {
    plan.emplace_back(items.begin() + from, items.begin() + std::min(items.size(), from + static_cast<size_t>(batch_size)));
  }
  return plan;
}

uint64_t batch_seed(const std::vector<int64_t>& batch) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (int64_t v : batch) h = (h ^ static_cast<uint64_t>(v)) * 1099511628211ULL;
  return h;
}

std::vector<torch::Tensor> TrainTask::graph_inputs(const std::vector<int64_t>&, const torch::Device&) {
  TORCH_CHECK(false, "this task does not support CUDA graphs");
}

torch::Tensor TrainTask::graph_loss(const std::vector<torch::Tensor>&) {
  TORCH_CHECK(false, "this task does not support CUDA graphs");
}

formats::NamedTensors TrainTask::checkpoint_tensors() { return formats::module_tensors(*model()); }

void TrainTask::load_checkpoint_tensors(const formats::SafetensorsFile& file, const std::string& path) {
  formats::load_module_tensors(*model(), file, path);
}

void TrainTask::save_best(const std::string& run_dir) { RunDir(run_dir).save_weights(*model()); }

void TrainTask::load_best(const std::string& run_dir) { RunDir(run_dir).load_weights(*model()); }

}  // namespace attune::engine
