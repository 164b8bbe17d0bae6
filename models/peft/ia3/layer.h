// IA3 on one Linear layer (ia3_l).
// Parameter names are Hugging Face PEFT's, so "<layer path>.<name>" is PEFT's file key
// once "base_model.model." is put in front.
#pragma once
#include "models/common/linear.h"

#include <torch/torch.h>

namespace attune::peft {

// IA3: a learned per-feature scale, on the input for feed-forward layers, on the
// output otherwise; initialised to ones.
class Ia3AdapterImpl : public models::LinearAdapterImpl {
 public:
  Ia3AdapterImpl(int64_t in_features, int64_t out_features, bool feedforward);
  torch::Tensor adapt_input(const torch::Tensor& x) override;
  bool rewrites_input() const override { return feedforward_; }
  torch::Tensor adapt_output(const torch::Tensor& x, const torch::Tensor& y) override;
  bool mergeable() const override { return true; }
  void merge(torch::Tensor& weight, torch::Tensor& bias, bool reverse) override;
  bool feedforward() const { return feedforward_; }

  torch::Tensor ia3_l;  // (1, in) for feed-forward layers, (out, 1) otherwise

 private:
  bool feedforward_;
};
TORCH_MODULE(Ia3Adapter);

}  // namespace attune::peft
