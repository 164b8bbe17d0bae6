// A bottleneck adapter on one Linear layer (down, up): attune's own, PEFT has none.
#pragma once
#include "models/common/linear.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

namespace attune::peft {

// Bottleneck adapter (Houlsby et al. 2019): y + up(act(down(y))) on a projection's
// output, before the residual sum. "up" starts at zero, so the layer starts unchanged.
class BottleneckAdapterImpl : public models::LinearAdapterImpl {
 public:
  BottleneckAdapterImpl(int64_t features, int64_t bottleneck, models::Activation activation);
  torch::Tensor adapt_output(const torch::Tensor& x, const torch::Tensor& y) override;
  std::string script_output(script::ScriptModuleBuilder& builder, const std::string& name,
                            const std::string& y) override;
  models::Activation activation() const { return activation_; }

  models::Linear down{nullptr};
  models::Linear up{nullptr};

 private:
  models::Activation activation_;
};
TORCH_MODULE(BottleneckAdapter);

}  // namespace attune::peft
