#include "models/deberta/masked_lm_script.h"

#include "models/export/masked_lm_methods.h"
#include "models/deberta/script_export.h"

namespace attune::models {

torch::jit::Module script_deberta_masked_lm(DebertaV2ForMaskedLMImpl& model, script::ClassNames& names) {
  torch::jit::Module encoder = script_deberta(*model.deberta, names);
  TORCH_CHECK(encoder.hasattr(kScriptDebertaWordEmbeddings), "script export: the scripted encoder has no '",
              kScriptDebertaWordEmbeddings, "'");
  script::ScriptModuleBuilder b(names, "DebertaV2ForMaskedLM");
  const std::string body = b.submodule("deberta", encoder);
  const DebertaV2Options& o = model.deberta->options();
  DebertaV2LMHeadImpl& head = *model.head;
  // As DebertaV2LMHeadImpl::forward: dense, hidden_act, LayerNorm, then the tied decoder.
  const std::string transformed =
      b.layer_norm(*head.layer_norm, "head_LayerNorm",
                   script::activation_call(parse_activation(o.hidden_act(), "hidden_act"),
                                           b.linear(*head.dense, "head_dense", "hidden")));
  const std::string weight = body + "." + kScriptDebertaWordEmbeddings;
  const std::string bias = b.tensor("head_bias", head.bias);
  // The legacy head is an nn.Linear with the bias attached; the other multiplies, then adds.
  const std::string decoded =
      o.legacy() ? b.linear_call("h", weight, bias) : "torch.matmul(h, " + weight + ".t()) + " + bias;
  return script::build_masked_lm(b, body, transformed, decoded);
}

}  // namespace attune::models
