#include "models/peft/adalora/allocator.h"

#include <array>
#include <cmath>

namespace attune::peft {
namespace {

std::array<torch::Tensor*, 3> parameters_of(AdaLoraAdapterImpl& a) { return {&a.lora_A, &a.lora_B, &a.lora_E}; }

}  // namespace

RankAllocator::RankAllocator(std::vector<std::pair<std::string, AdaLoraAdapter>> modules,
                             const AdaLoraSchedule& schedule)
    : modules_(std::move(modules)), schedule_(schedule), scores_(modules_.size()) {
  TORCH_CHECK(schedule_.beta1 > 0 && schedule_.beta1 < 1 && schedule_.beta2 > 0 && schedule_.beta2 < 1,
              "AdaLoRA: beta1 and beta2 must be in (0, 1)");
  TORCH_CHECK(schedule_.target_r <= schedule_.init_r, "AdaLoRA: target_r must not exceed init_r");
}

int64_t RankAllocator::budget(int64_t step, int64_t total) const {
  if (step <= schedule_.tinit) return initial_budget();
  if (step > total - schedule_.tfinal) return target_budget();
  const double span = static_cast<double>(total - schedule_.tfinal - schedule_.tinit);
  const double keep = 1.0 - static_cast<double>(step - schedule_.tinit) / span;
  return static_cast<int64_t>((initial_budget() - target_budget()) * keep * keep * keep + target_budget());
}

void RankAllocator::update_importance() {
  torch::NoGradGuard no_grad;
  for (size_t m = 0; m < modules_.size(); ++m) {
    const auto params = parameters_of(*modules_[m].second);
    for (size_t k = 0; k < 3; ++k) {
      const torch::Tensor& p = *params[k];
      Scores& s = scores_[m][k];
      if (!s.avg_ipt.defined()) {
        s.avg_ipt = torch::zeros_like(p);
        s.avg_unc = torch::zeros_like(p);
      }
      if (!p.grad().defined()) continue;
      const torch::Tensor ipt = (p * p.grad()).abs();
      s.avg_ipt = schedule_.beta1 * s.avg_ipt + (1 - schedule_.beta1) * ipt;
      s.avg_unc = schedule_.beta2 * s.avg_unc + (1 - schedule_.beta2) * (ipt - s.avg_ipt).abs();
    }
  }
}

void RankAllocator::mask_to_budget(int64_t budget) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> triplet;  // per module (r)
  for (size_t m = 0; m < modules_.size(); ++m) {
    auto score = [&](size_t k) {
      const Scores& s = scores_[m][k];
      return s.avg_ipt.defined() ? s.avg_ipt * s.avg_unc : torch::zeros_like(*parameters_of(*modules_[m].second)[k]);
    };
    const torch::Tensor a = score(0).mean(1);  // (r, in) -> (r)
    const torch::Tensor b = score(1).mean(0);  // (out, r) -> (r)
    triplet.push_back(score(2).view(-1) + a + b);
  }
  const int64_t k = initial_budget() - budget;
  if (k <= 0) return;
  const double threshold = std::get<0>(torch::kthvalue(torch::cat(triplet), k)).item<double>();
  for (size_t m = 0; m < modules_.size(); ++m) {
    modules_[m].second->lora_E.masked_fill_(triplet[m].le(threshold).view({-1, 1}), 0.0);
  }
  pruned_ = true;
}

void RankAllocator::apply_final_mask() {
  torch::NoGradGuard no_grad;
  for (size_t m = 0; m < modules_.size(); ++m) {
    modules_[m].second->lora_E.masked_fill_(final_mask_[m].logical_not().view({-1, 1}), 0.0);
  }
}

void RankAllocator::update_and_allocate(int64_t step, int64_t total) {
  const int64_t final_step = total - schedule_.tfinal;
  if (step < final_step) {
    update_importance();
    const bool mask_now = step > schedule_.tinit && step % schedule_.delta_t == 0;
    if (mask_now) mask_to_budget(budget(step, total));
  } else if (step == final_step) {
    mask_to_budget(budget(step, total));
    final_mask_.clear();
    for (const auto& [path, a] : modules_) final_mask_.push_back(a->lora_E.view(-1).ne(0));
    for (auto& s : scores_) s = {};
  } else if (!final_mask_.empty()) {
    apply_final_mask();
  }
}

torch::Tensor RankAllocator::orthogonal_regularizer() const {
  torch::Tensor total;
  int64_t count = 0;
  for (const auto& [path, a] : modules_) {
    for (const torch::Tensor& cov : {torch::matmul(a->lora_A, a->lora_A.t()), torch::matmul(a->lora_B.t(), a->lora_B)}) {
      const torch::Tensor eye = torch::eye(cov.size(0), cov.options());
      const torch::Tensor norm = (cov - eye).norm();
      total = total.defined() ? total + norm : norm;
      ++count;
    }
  }
  return count == 0 ? torch::Tensor() : total / static_cast<double>(count);
}

int64_t RankAllocator::total_rank() const {
  int64_t r = 0;
  for (const auto& [path, a] : modules_) r += a->active_rank();
  return r;
}

nlohmann::json RankAllocator::rank_pattern() const {
  if (!pruned_) return nullptr;
  nlohmann::json pattern = nlohmann::json::object();
  for (const auto& [path, a] : modules_) {
    const torch::Tensor kept = a->lora_E.view(-1).ne(0).cpu();
    std::vector<bool> flags;
    for (int64_t i = 0; i < kept.numel(); ++i) flags.push_back(kept[i].item<bool>());
    pattern[path + ".lora_E"] = flags;
  }
  return pattern;
}

std::vector<std::pair<std::string, torch::Tensor>> RankAllocator::state() const {
  static const char* kNames[3] = {"lora_A", "lora_B", "lora_E"};
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.emplace_back("adalora.pruned", torch::tensor(pruned_ ? 1 : 0));
  for (size_t m = 0; m < modules_.size(); ++m) {
    const std::string base = "adalora." + modules_[m].first + ".";
    for (size_t k = 0; k < 3; ++k) {
      if (!scores_[m][k].avg_ipt.defined()) continue;
      out.emplace_back(base + kNames[k] + ".avg_ipt", scores_[m][k].avg_ipt);
      out.emplace_back(base + kNames[k] + ".avg_unc", scores_[m][k].avg_unc);
    }
    if (!final_mask_.empty()) out.emplace_back(base + "final_mask", final_mask_[m].to(torch::kUInt8));
  }
  return out;
}

void RankAllocator::load_state(const std::map<std::string, torch::Tensor>& tensors) {
  static const char* kNames[3] = {"lora_A", "lora_B", "lora_E"};
  const auto pruned = tensors.find("adalora.pruned");
  pruned_ = pruned != tensors.end() && pruned->second.item<int64_t>() != 0;
  final_mask_.clear();
  for (size_t m = 0; m < modules_.size(); ++m) {
    const std::string base = "adalora." + modules_[m].first + ".";
    const torch::Device device = modules_[m].second->lora_A.device();
    for (size_t k = 0; k < 3; ++k) {
      const auto ipt = tensors.find(base + kNames[k] + ".avg_ipt");
      const auto unc = tensors.find(base + kNames[k] + ".avg_unc");
      scores_[m][k] = {};
      if (ipt != tensors.end() && unc != tensors.end()) {
        scores_[m][k] = {ipt->second.to(device), unc->second.to(device)};
      }
    }
    const auto mask = tensors.find(base + "final_mask");
    if (mask != tensors.end()) final_mask_.push_back(mask->second.to(device).to(torch::kBool));
  }
  if (final_mask_.size() != modules_.size()) final_mask_.clear();
}

}  // namespace attune::peft
