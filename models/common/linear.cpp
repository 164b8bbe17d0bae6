#include "models/common/linear.h"

#include <cmath>

namespace attune::models {

LinearImpl::LinearImpl(const torch::nn::LinearOptions& o) : options(o) {
  TORCH_CHECK(o.in_features() > 0 && o.out_features() > 0, "Linear: sizes must be positive, got ", o.in_features(),
              "x", o.out_features());
  weight = register_parameter("weight", torch::empty({o.out_features(), o.in_features()}));
  if (o.bias()) bias = register_parameter("bias", torch::empty({o.out_features()}));
  // torch::nn::Linear's default initialisation; models re-initialise as their reference does.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(o.in_features()));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  // at::linear, not torch::nn::functional::linear: for a 3-d input the frontend's version
  // runs a matmul and then a separate broadcast bias add, where at::linear folds the bias
  // into one addmm (cuBLASLt's epilogue on CUDA): 72 extra kernels, 13 % of a BERT-base
  // training step at B128/S128 (docs/speed-notes.md).
  if (active_.empty() || merged_) return torch::linear(x, weight, bias);
  LinearAdapterImpl& a = *adapters_.at(active_);
  return a.adapt_output(x, torch::linear(a.adapt_input(x), weight, bias));
}

torch::Tensor LinearImpl::adapt_projection(const torch::Tensor& x, const torch::Tensor& y) {
  if (active_.empty() || merged_) return y;
  return adapters_.at(active_)->adapt_output(x, y);
}

bool LinearImpl::input_shared() const {
  return active_.empty() || merged_ || !adapters_.at(active_)->rewrites_input();
}

void LinearImpl::add_adapter(const std::string& name, std::shared_ptr<LinearAdapterImpl> adapter) {
  TORCH_CHECK(!merged_, "Linear: cannot add adapter '", name, "' while another is merged");
  TORCH_CHECK(name != "weight" && name != "bias", "Linear: adapter name '", name, "' is reserved");
  if (adapters_.count(name)) remove_adapter(name);
  adapters_[name] = register_module(name, std::move(adapter));
}

void LinearImpl::remove_adapter(const std::string& name) {
  TORCH_CHECK(adapters_.count(name), "Linear: no adapter '", name, "'");
  TORCH_CHECK(!(merged_ && active_ == name), "Linear: unmerge adapter '", name, "' before removing it");
  unregister_module(name);
  adapters_.erase(name);
  if (active_ == name) active_.clear();
}

void LinearImpl::set_active_adapter(const std::string& name) {
  TORCH_CHECK(name.empty() || adapters_.count(name), "Linear: no adapter '", name, "'");
  TORCH_CHECK(!merged_ || name == active_, "Linear: unmerge adapter '", active_, "' before switching");
  active_ = name;
}

std::shared_ptr<LinearAdapterImpl> LinearImpl::adapter(const std::string& name) const {
  const auto it = adapters_.find(name);
  return it == adapters_.end() ? nullptr : it->second;
}

void LinearImpl::drop_adapters() {
  for (const auto& [name, a] : adapters_) unregister_module(name);
  adapters_.clear();
  active_.clear();
  merged_ = false;
}

void LinearImpl::merge() {
  if (merged_ || active_.empty()) return;
  LinearAdapterImpl& a = *adapters_.at(active_);
  TORCH_CHECK(a.mergeable(), "Linear: adapter '", active_, "' cannot be merged into the base weights");
  torch::NoGradGuard no_grad;
  a.merge(weight, bias, /*reverse=*/false);
  merged_ = true;
}

void LinearImpl::unmerge() {
  if (!merged_) return;
  torch::NoGradGuard no_grad;
  adapters_.at(active_)->merge(weight, bias, /*reverse=*/true);
  merged_ = false;
}

}  // namespace attune::models
