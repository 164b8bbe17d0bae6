// AdaLoRA's rank allocation (Zhang et al. 2023), step for step as Hugging Face PEFT's
// RankAllocator: importance of every singular triplet (E_i, A_i., B_.i) from smoothed
// |w * grad| times its uncertainty; a budget that falls cubically from init_r to target_r
// per module between tinit and total - tfinal; the least important triplets are pruned by
// zeroing E. Also the orthogonality regulariser on A and B.
#pragma once
#include "models/peft/adalora/layer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace attune::peft {

struct AdaLoraSchedule {
  int64_t init_r = 12;
  int64_t target_r = 8;
  int64_t tinit = 0;
  int64_t tfinal = 0;
  int64_t delta_t = 1;
  double beta1 = 0.85;
  double beta2 = 0.85;
};

class RankAllocator {
 public:
  // modules: (layer path, adapter) in a fixed order.
  RankAllocator(std::vector<std::pair<std::string, AdaLoraAdapter>> modules, const AdaLoraSchedule& schedule);

  // After the optimizer step that made global_step (1-based); gradients must still be present.
  void update_and_allocate(int64_t global_step, int64_t total_steps);
  // Mean Frobenius norm of A A^T - I and B^T B - I over all A and B.
  torch::Tensor orthogonal_regularizer() const;

  int64_t budget(int64_t global_step, int64_t total_steps) const;
  int64_t initial_budget() const { return static_cast<int64_t>(modules_.size()) * schedule_.init_r; }
  int64_t target_budget() const { return static_cast<int64_t>(modules_.size()) * schedule_.target_r; }
  // Sum of the ranks left (non-zero E entries) over all modules.
  int64_t total_rank() const;
  // PEFT's adapter_config "rank_pattern": {"<path>.lora_E": [kept...]}, null before the first pruning.
  nlohmann::json rank_pattern() const;

  // Importance averages and the final pattern, for exact resume (names are stable).
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void load_state(const std::map<std::string, torch::Tensor>& tensors);

 private:
  struct Scores {
    torch::Tensor avg_ipt, avg_unc;
  };
  void update_importance();
  void mask_to_budget(int64_t budget);
  void apply_final_mask();

  std::vector<std::pair<std::string, AdaLoraAdapter>> modules_;
  AdaLoraSchedule schedule_;
  // Per module: scores of A, B, E (in that order).
  std::vector<std::array<Scores, 3>> scores_;
  std::vector<torch::Tensor> final_mask_;  // per module (r) bool, once fixed
  bool pruned_ = false;
};

}  // namespace attune::peft
