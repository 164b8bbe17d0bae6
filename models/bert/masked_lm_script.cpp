#include "models/bert/masked_lm_script.h"

#include "models/export/masked_lm_methods.h"
#include "models/bert/script_export.h"

namespace attune::models {

torch::jit::Module script_masked_lm(BertForMaskedLMImpl& model, script::ClassNames& names) {
  torch::jit::Module encoder = script_bert(*model.bert, names);
  TORCH_CHECK(encoder.hasattr(kScriptBertWordEmbeddings), "script export: the scripted encoder has no '",
              kScriptBertWordEmbeddings, "'");
  script::ScriptModuleBuilder b(names, "BertForMaskedLM");
  const std::string bert = b.submodule("bert", encoder);
  BertLMPredictionHeadImpl& head = *model.predictions;
  BertPredictionHeadTransformImpl& transform = *head.transform;
  // BertPredictionHeadTransformImpl's activation: lm_head_act when set (RoBERTa's lm_head is
  // gelu whatever hidden_act says), else hidden_act (BERT, DistilBERT).
  const BertOptions& o = model.bert->options();
  const Activation activation =
      parse_activation(o.lm_head_act().empty() ? o.hidden_act() : o.lm_head_act(), "model.lm_head_act");
  // As BertLMPredictionHeadImpl::forward: dense, activation, LayerNorm, then the tied decoder.
  const std::string dense = b.linear(*transform.dense, "cls_predictions_transform_dense", "hidden");
  const std::string transformed =
      b.layer_norm(*transform.layer_norm, "cls_predictions_transform_LayerNorm", script::activation_call(activation, dense));
  const std::string decoded = b.linear_call("h", bert + "." + kScriptBertWordEmbeddings,
                                            b.tensor("cls_predictions_bias", head.bias));
  return script::build_masked_lm(b, bert, transformed, decoded);
}

}  // namespace attune::models
