// The PEFT methods that change single Linear layers. Parameter names inside each
// adapter are Hugging Face PEFT's (lora_A.weight, lora_B.weight, lora_E, ia3_l), so
// "<layer path>.<name>" is PEFT's key once "base_model.model." is put in front.
#pragma once
#include "models/common/linear.h"
#include "models/transformer/activation.h"

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

// AdaLoRA's SVD-form update: y + (dropout(x) (A * E)^T B^T) * alpha / (ranknum + 1e-5).
// Ranks are pruned by zeroing entries of E (see adalora_allocator.h).
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

// IA3: a learned per-feature scale, on the input for feed-forward layers, on the
// output otherwise; initialised to ones.
class Ia3AdapterImpl : public models::LinearAdapterImpl {
 public:
  Ia3AdapterImpl(int64_t in_features, int64_t out_features, bool feedforward);
  torch::Tensor adapt_input(const torch::Tensor& x) override;
  torch::Tensor adapt_output(const torch::Tensor& x, const torch::Tensor& y) override;
  bool mergeable() const override { return true; }
  void merge(torch::Tensor& weight, torch::Tensor& bias, bool reverse) override;
  bool feedforward() const { return feedforward_; }

  torch::Tensor ia3_l;  // (1, in) for feed-forward layers, (out, 1) otherwise

 private:
  bool feedforward_;
};
TORCH_MODULE(Ia3Adapter);

// Bottleneck adapter (Houlsby et al. 2019): y + up(act(down(y))) on a projection's
// output, before the residual sum. "up" starts at zero, so the layer starts unchanged.
class BottleneckAdapterImpl : public models::LinearAdapterImpl {
 public:
  BottleneckAdapterImpl(int64_t features, int64_t bottleneck, models::Activation activation);
  torch::Tensor adapt_output(const torch::Tensor& x, const torch::Tensor& y) override;
  models::Activation activation() const { return activation_; }

  models::Linear down{nullptr};
  models::Linear up{nullptr};

 private:
  models::Activation activation_;
};
TORCH_MODULE(BottleneckAdapter);

}  // namespace attune::peft
