#include "models/bert/masked_lm_script.h"

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
  b.add_method("def head(self, hidden: Tensor) -> Tensor:\n"
               "    h = " + transformed + "\n"
               "    return " + decoded + "\n");
  b.add_method("def logits_at(self, input_ids: Tensor, attention_mask: Tensor, positions: Tensor, "
               "token_type_ids: Optional[Tensor]=None) -> Tensor:\n"
               "    hidden = " + bert + ".forward(input_ids, attention_mask, token_type_ids)\n"
               "    return self.head(hidden.flatten(0, 1).index_select(0, positions))\n");
  return b.build("def forward(self, input_ids: Tensor, attention_mask: Tensor, "
                 "token_type_ids: Optional[Tensor]=None) -> Tensor:\n"
                 "    return self.head(" + bert + ".forward(input_ids, attention_mask, token_type_ids))\n");
}

}  // namespace attune::models
