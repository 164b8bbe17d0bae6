// Building TorchScript modules in C++ from generated source instead of tracing: C++
// tracing records every size as a constant, while a scripted forward reads sizes from
// its inputs at run time, so the exported module takes any batch size and length.
// Exporters copy a model's tensors into a torch::jit::Module, write its forward as
// TorchScript text made only of aten builtins (torch.linear, torch.layer_norm, ...;
// torch.nn.functional does not resolve in source defined from C++), and define it.
#pragma once
#include "models/common/linear.h"
#include "models/common/norm.h"
#include "models/transformer/activation.h"

#include <torch/torch.h>

#include <map>
#include <set>
#include <string>

namespace attune::script {

// Class names for the modules of one exported tree. A saved archive keys its code by
// class name, so each scripted submodule needs its own: "__torch__.attune.<stem><n>".
class ClassNames {
 public:
  c10::QualifiedName next(const std::string& stem);
  // Every builder of the tree writes its Linear layers as int8 dynamic quantization
  // (weights int8 per output channel, activations quantized per batch): CPU inference.
  bool dynamic_int8 = false;

 private:
  std::map<std::string, int> counts_;
};

// The quantized engine int8 bundles run on: FBGEMM where this LibTorch has it (PyTorch's
// x86 builds), else oneDNN (Debian's LibTorch 1.13 has no FBGEMM), else x86, else QNNPACK
// (docs/benchmarks.md compares them). Selecting it also
// decides how packed weights are re-packed when a module is loaded, so call it before
// torch::jit::load of an int8 bundle. Fails when the build has no quantized engine.
// ATTUNE_INT8_ENGINE=onednn|fbgemm|qnnpack picks one (benchmarks compare them).
std::string use_int8_engine();

// A double as a TorchScript float literal that reads back as the same double.
std::string float_literal(double value);
// TorchScript applying `activation` to the expression x, as models::apply_activation does.
std::string activation_call(models::Activation activation, const std::string& x);

// Lines computing `out` (B,H,T,D) = attention of q over k, v (B,H,*,D) as attend()'s math
// path: scores scaled by 1/sqrt(head_dim), masked with masked_score_literal() (not -inf)
// where the bool `keep` (broadcastable to (B,H,T,S)) is false, softmax, weighted values.
// bias, if not empty, names an additive (.,H,T,S) position bias added before the masking.
// The score masked positions get: bfloat16's lowest value, which float32 holds exactly
// too, so that one module runs in either dtype (`export --bf16`). Where a row keeps any
// column, softmax gives the masked ones the same zeros as with float32's lowest, and a
// fully masked row is uniform in both (-inf would make it NaN).
std::string masked_score_literal();

std::string attend_lines(const std::string& q, const std::string& k, const std::string& v, const std::string& keep,
                         const std::string& out, int64_t head_dim, const std::string& bias = "");

// Lines setting `out` to token_type_ids (an Optional[Tensor] argument), or zeros shaped
// as input_ids when it is None.
std::string token_types_lines(const std::string& out);

// The module's floating-point parameters and buffers in bfloat16 (`export --bf16`);
// integer and bool buffers (index tables, masks) keep their dtype, which Module::to would
// convert too.
void to_bfloat16(torch::jit::Module& module);

// One scripted module under construction. Tensor names are attune's module paths with
// '.' replaced by '_' (attribute names cannot hold dots); values are detached float32
// copies on the CPU, so later changes to the model do not reach the export.
class ScriptModuleBuilder {
 public:
  ScriptModuleBuilder(ClassNames& names, const std::string& stem);

  // Registers a copy of value as a parameter (or a buffer); returns "self.<name>".
  std::string tensor(const std::string& name, const torch::Tensor& value, bool parameter = true);
  // The expression for layer(x): the layer's weight and bias applied with the kernels
  // LinearImpl::forward uses (at::linear's), plus its active adapter's script_output()
  // when it has one unmerged. Every exporter goes through here, so every Linear exports adapters the same
  // way. An unmerged adapter without a script form is a bug of the caller (merge it first).
  std::string linear(models::LinearImpl& layer, const std::string& name, const std::string& x);
  // The same for a plain torch::nn::Linear (no adapters), e.g. a ViT's head.
  std::string linear(torch::nn::LinearImpl& layer, const std::string& name, const std::string& x);
  // The same kernels for a weight and bias that are not a Linear layer's (tied decoders):
  // x, weight and bias are TorchScript expressions (bias may be "None").
  std::string linear_call(const std::string& x, const std::string& weight, const std::string& bias);
  std::string layer_norm(torch::nn::LayerNormImpl& norm, const std::string& name, const std::string& x);
  std::string layer_norm(models::OptionalBiasLayerNormImpl& norm, const std::string& name, const std::string& x);
  std::string embedding(torch::nn::EmbeddingImpl& table, const std::string& name, const std::string& ids);
  // Registers a defined module as a child; returns "self.<name>". Call its methods
  // explicitly ("self.<name>.forward(...)"): C++-defined source has no module __call__.
  std::string submodule(const std::string& name, const torch::jit::Module& module);
  // Adds one method's source (def ...), compiled with the rest by build().
  void add_method(const std::string& source);
  // Compiles the methods and `source` (e.g. the forward) and returns the module in eval
  // mode. Generated code that does not compile is a bug: c10::Error with the message.
  torch::jit::Module build(const std::string& source);
  // `name` as a unique attribute or method name ('.' and '-' become '_'); registers it,
  // so a second use of a name is an error.
  std::string attribute_name(const std::string& name);

 private:
  // weight (out,in) and bias (out, or undefined) applied to x, as linear() documents.
  std::string linear_of(const torch::Tensor& weight, const torch::Tensor& bias, const std::string& name,
                        const std::string& x);
  std::string layer_norm_of(const torch::Tensor& weight, const torch::Tensor& bias, const std::vector<int64_t>& shape,
                            double eps, const std::string& name, const std::string& x);

  bool dynamic_int8_;
  bool uses_quantized_ = false;
  torch::jit::Module module_;
  std::string methods_;
  std::set<std::string> names_;
};

}  // namespace attune::script
