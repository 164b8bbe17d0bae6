// AdaLoRA's SVD-form adapter on one Linear layer (lora_A, lora_B, lora_E).
// Parameter names are Hugging Face PEFT's, so "<layer path>.<name>" is PEFT's file key
// once "base_model.model." is put in front.
#pragma once
#include "models/common/linear.h"

#include <torch/torch.h>

namespace attune::peft {

// AdaLoRA's SVD-form update: y + (dropout(x) (A * E)^T B^T) * alpha / (ranknum + 1e-5).
// Ranks are pruned by zeroing entries of E (see allocator.h).
class AdaLoraAdapterImpl : public models::LinearAdapterImpl {
 public:
  AdaLoraAdapterImpl(int64_t in_features, int64_t out_features, int64_t init_r, double alpha, double dropout);
  torch::Tensor adapt_output(const torch::Tensor& x, const torch::Tensor& y) override;
  bool mergeable() const override { return true; }
  void merge(torch::Tensor& weight, torch::Tensor& bias, bool reverse) override;
  torch::Tensor delta_weight() const;
  // Ranks whose E entry is non-zero.
  int64_t active_rank() const;

  torch::Tensor lora_A;  // (r, in)
  torch::Tensor lora_B;  // (out, r)
  torch::Tensor lora_E;  // (r, 1)

 private:
  double alpha_, dropout_;
  int64_t ranknum_;  // fixed at init_r, as PEFT keeps it after pruning
};
TORCH_MODULE(AdaLoraAdapter);

}  // namespace attune::peft
