#include "models/peft/bottleneck/layer.h"

#include "models/export/script_module.h"

namespace attune::peft {

BottleneckAdapterImpl::BottleneckAdapterImpl(int64_t features, int64_t bottleneck, models::Activation activation)
    : activation_(activation) {
  TORCH_CHECK(bottleneck > 0, "bottleneck adapter: size must be positive, got ", bottleneck);
  down = register_module("down", models::Linear(features, bottleneck));
  up = register_module("up", models::Linear(bottleneck, features));
  torch::NoGradGuard no_grad;
  down->weight.normal_(0.0, 0.02);
  down->bias.zero_();
  up->weight.zero_();
  up->bias.zero_();
}

torch::Tensor BottleneckAdapterImpl::adapt_output(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor h = y.to(down->weight.scalar_type());
  return y + up->forward(models::apply_activation(activation_, down->forward(h))).to(y.scalar_type());
}

std::string BottleneckAdapterImpl::script_output(script::ScriptModuleBuilder& b, const std::string& name,
                                                 const std::string& y) {
  // y + up(act(down(y))) as adapt_output: a method, since y is used twice.
  const std::string method = "bottleneck_" + b.attribute_name(name + "_bottleneck");
  const std::string d = b.linear(*down, name + "_bottleneck_down", "y");
  const std::string u = b.linear(*up, name + "_bottleneck_up", script::activation_call(activation_, d));
  b.add_method("def " + method + "(self, y: Tensor) -> Tensor:\n    return y + " + u + "\n");
  return "self." + method + "(" + y + ")";
}

}  // namespace attune::peft
