// LoRA and rsLoRA on one Linear layer (lora_A.weight, lora_B.weight).
// Parameter names are Hugging Face PEFT's, so "<layer path>.<name>" is PEFT's file key
// once "base_model.model." is put in front.
#pragma once
#include "models/common/linear.h"

#include <torch/torch.h>

namespace attune::peft {

struct LoraOptions {
  LoraOptions(int64_t r, double alpha) : r_(r), alpha_(alpha) {}
  TORCH_ARG(int64_t, r);
  TORCH_ARG(double, alpha);
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(bool, use_rslora) = false;  // alpha / sqrt(r) instead of alpha / r
};

// y + scaling * B A dropout(x), with A Kaiming-uniform and B zero as PEFT initialises
// them, so the adapted layer starts equal to the base layer.
class LoraAdapterImpl : public models::LinearAdapterImpl {
 public:
  LoraAdapterImpl(int64_t in_features, int64_t out_features, const LoraOptions& options);
  torch::Tensor adapt_output(const torch::Tensor& x, const torch::Tensor& y) override;
  bool mergeable() const override { return true; }
  void merge(torch::Tensor& weight, torch::Tensor& bias, bool reverse) override;
  double scaling() const { return scaling_; }

  models::Linear lora_A{nullptr};  // (r, in), no bias
  models::Linear lora_B{nullptr};  // (out, r), no bias

 private:
  LoraOptions options_;
  double scaling_;
};
TORCH_MODULE(LoraAdapter);

}  // namespace attune::peft
