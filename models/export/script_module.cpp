#include "models/export/script_module.h"

#include "core/compat.h"
#include "core/error.h"

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <cstdio>
#include <regex>

namespace attune::script {

c10::QualifiedName ClassNames::next(const std::string& stem) {
  return c10::QualifiedName("__torch__.attune." + stem + std::to_string(counts_[stem]++));
}

std::string float_literal(double value) {
  TORCH_CHECK(std::isfinite(value), "script export: no TorchScript literal for ", value);
  char text[40];
  std::snprintf(text, sizeof(text), "%.17g", value);  // 17 digits round-trip any double
  std::string s = text;
  // "1" would be an int literal; TorchScript picks overloads by type.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string activation_call(models::Activation activation, const std::string& x) {
  switch (activation) {
    case models::Activation::kGelu: return "torch.gelu(" + x + ")";
    case models::Activation::kGeluTanh: return "torch.gelu(" + x + ", approximate=\"tanh\")";
    case models::Activation::kRelu: return "torch.relu(" + x + ")";
    case models::Activation::kSilu: return "torch.silu(" + x + ")";
    case models::Activation::kTanh: return "torch.tanh(" + x + ")";
  }
  TORCH_CHECK(false, "script export: invalid activation");
}

std::string masked_score_literal() {
  return float_literal(static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest()));
}

std::string attend_lines(const std::string& q, const std::string& k, const std::string& v, const std::string& keep,
                         const std::string& out, int64_t head_dim, const std::string& bias) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  return "    scores = torch.matmul(" + q + ", " + k + ".transpose(-2, -1)).mul(" + float_literal(scale) + ")" +
         (bias.empty() ? std::string() : " + " + bias) + "\n" +
         "    scores = scores.masked_fill(" + keep + ".logical_not(), " + masked_score_literal() + ")\n" +
         "    " + out + " = torch.matmul(torch.softmax(scores, -1), " + v + ")\n";
}

std::string token_types_lines(const std::string& out) {
  return "    if token_type_ids is None:\n"
         "        " + out + " = torch.zeros_like(input_ids)\n"
         "    else:\n"
         "        " + out + " = token_type_ids\n";
}

void to_bfloat16(torch::jit::Module& module) {
  torch::NoGradGuard no_grad;
  auto convert = [](const torch::Tensor& t) {
    if (t.is_floating_point()) t.set_data(t.to(torch::kBFloat16));
  };
  for (const auto& p : module.named_parameters(/*recurse=*/true)) convert(p.value);
  for (const auto& b : module.named_buffers(/*recurse=*/true)) convert(b.value);
}

namespace {

// The native resolver plus the `quantized` operator namespace (quantized.linear_dynamic),
// which source defined from C++ cannot otherwise name.
struct QuantizedResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(const std::string& name, torch::jit::GraphFunction& m,
                                                         const torch::jit::SourceRange& loc) override {
    if (name == "quantized") return std::make_shared<torch::jit::BuiltinModule>("quantized");
    return torch::jit::nativeResolver()->resolveValue(name, m, loc);
  }
  c10::TypePtr resolveType(const std::string& name, const torch::jit::SourceRange& loc) override {
    return torch::jit::nativeResolver()->resolveType(name, loc);
  }
};

c10::IValue call_op(const char* name, torch::jit::Stack stack) {
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
  op.callBoxed(&stack);
  return stack.at(0);
}

}  // namespace

std::string use_int8_engine() {
  const auto& engines = at::globalContext().supportedQEngines();
  const char* wanted = std::getenv("ATTUNE_INT8_ENGINE");
  for (auto [engine, name] : compat::int8_engine_candidates()) {
    if (wanted && *wanted && std::string(wanted) != name) continue;
    if (std::find(engines.begin(), engines.end(), engine) != engines.end()) {
      at::globalContext().setQEngine(engine);
      return name;
    }
  }
  if (wanted && *wanted) {
    fail("ATTUNE_INT8_ENGINE", std::string("this LibTorch has no quantized engine '") + wanted +
                                   "' (choose onednn, fbgemm or qnnpack, or unset it)");
  }
  fail("int8", "this LibTorch has no quantized engine (oneDNN, FBGEMM or QNNPACK) for int8 bundles");
}

ScriptModuleBuilder::ScriptModuleBuilder(ClassNames& names, const std::string& stem)
    : dynamic_int8_(names.dynamic_int8), module_(names.next(stem)) {}

std::string ScriptModuleBuilder::attribute_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (c == '.' || c == '-') c = '_';
  }
  static const std::regex kIdentifier("[A-Za-z_][A-Za-z0-9_]*");
  TORCH_CHECK(std::regex_match(out, kIdentifier), "script export: '", name, "' is not a valid attribute name");
  TORCH_CHECK(names_.insert(out).second, "script export: attribute '", out, "' registered twice");
  return out;
}

std::string ScriptModuleBuilder::tensor(const std::string& name, const torch::Tensor& value, bool parameter) {
  const std::string attr = attribute_name(name);
  torch::Tensor copy = value.detach().to(torch::kCPU);
  if (copy.is_floating_point()) copy = copy.to(torch::kFloat);
  copy = copy.clone().contiguous();
  if (parameter) {
    module_.register_parameter(attr, copy, /*is_buffer=*/false);
  } else {
    module_.register_buffer(attr, copy);
  }
  return "self." + attr;
}

std::string ScriptModuleBuilder::linear(models::LinearImpl& layer, const std::string& name, const std::string& x) {
  const std::string y = linear_of(layer.weight, layer.bias, name, x);
  const std::string& active = layer.active_adapter();
  if (active.empty() || layer.merged()) return y;
  const std::string out = layer.adapter(active)->script_output(*this, name, y);
  TORCH_CHECK(!out.empty(), "script export: layer '", name, "' has an unmerged adapter '", active,
              "' that only merging can export (PeftModel::merge_and_unload)");
  return out;
}

std::string ScriptModuleBuilder::linear(torch::nn::LinearImpl& layer, const std::string& name, const std::string& x) {
  // torch::nn::Linear's inputs here are 2-d, where its functional::linear is at::linear's addmm.
  return linear_of(layer.weight, layer.bias, name, x);
}

std::string ScriptModuleBuilder::linear_of(const torch::Tensor& weight, const torch::Tensor& bias,
                                           const std::string& name, const std::string& x) {
  std::string y;
  if (dynamic_int8_) {
    // Symmetric per-output-channel int8 weights, packed for the engine; the saved module
    // stores them unpacked and re-packs on load (LinearPackedParamsBase's __setstate__).
    torch::NoGradGuard no_grad;
    const torch::Tensor w = weight.detach().to(torch::kCPU, torch::kFloat).contiguous();
    const torch::Tensor scales = (w.abs().amax(1) / 127.0).clamp_min(1e-8).to(torch::kDouble);
    const torch::Tensor q = torch::quantize_per_channel(w, scales, torch::zeros_like(scales, torch::kLong), 0, torch::kQInt8);
    c10::optional<torch::Tensor> b;
    if (bias.defined()) b = bias.detach().to(torch::kCPU, torch::kFloat).contiguous();
    const c10::IValue packed = call_op("quantized::linear_prepack", {q, b});
    const std::string attr = attribute_name(name + "_packed");
    module_.register_attribute(attr, packed.type(), packed);
    uses_quantized_ = true;
    y = "quantized.linear_dynamic(" + x + ", self." + attr + ", False)";
  } else {
    y = linear_call(x, tensor(name + "_weight", weight), bias.defined() ? tensor(name + "_bias", bias) : "None");
  }
  return y;
}

std::string ScriptModuleBuilder::linear_call(const std::string& x, const std::string& weight,
                                             const std::string& bias) {
  // at::linear, as LinearImpl::forward runs it: the same kernels give the same bits.
  return "torch.linear(" + x + ", " + weight + ", " + bias + ")";
}

std::string ScriptModuleBuilder::layer_norm(torch::nn::LayerNormImpl& norm, const std::string& name,
                                            const std::string& x) {
  return layer_norm_of(norm.weight, norm.bias, norm.options.normalized_shape(), norm.options.eps(), name, x);
}

std::string ScriptModuleBuilder::layer_norm(models::OptionalBiasLayerNormImpl& norm, const std::string& name,
                                            const std::string& x) {
  return layer_norm_of(norm.weight, norm.bias, {norm.size()}, norm.eps(), name, x);
}

std::string ScriptModuleBuilder::layer_norm_of(const torch::Tensor& weight, const torch::Tensor& bias,
                                               const std::vector<int64_t>& shape, double eps, const std::string& name,
                                               const std::string& x) {
  std::string dims;
  for (int64_t d : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
  const std::string w = weight.defined() ? tensor(name + "_weight", weight) : "None";
  const std::string b = bias.defined() ? tensor(name + "_bias", bias) : "None";
  return "torch.layer_norm(" + x + ", [" + dims + "], " + w + ", " + b + ", " + float_literal(eps) + ")";
}

std::string ScriptModuleBuilder::embedding(torch::nn::EmbeddingImpl& table, const std::string& name,
                                           const std::string& ids) {
  // padding_idx only masks gradients; the lookup itself is the same.
  return "torch.embedding(" + tensor(name + "_weight", table.weight) + ", " + ids + ")";
}

std::string ScriptModuleBuilder::submodule(const std::string& name, const torch::jit::Module& module) {
  const std::string attr = attribute_name(name);
  module_.register_module(attr, module);
  return "self." + attr;
}

void ScriptModuleBuilder::add_method(const std::string& source) { methods_ += source + "\n"; }

torch::jit::Module ScriptModuleBuilder::build(const std::string& source) {
  const std::string all = methods_ + source;
  try {
    module_.define(all, uses_quantized_ ? std::make_shared<QuantizedResolver>() : nullptr);
  } catch (const std::exception& e) {
    // Compile errors are torch::jit::ErrorReport, not c10::Error: make them one.
    TORCH_CHECK(false, "script export: generated TorchScript does not compile: ", e.what(), "\nsource:\n", all);
  }
  module_.eval();
  return module_;
}

}  // namespace attune::script
