#include "models/modernbert/masked_lm_script.h"

#include "models/export/masked_lm_methods.h"
#include "models/modernbert/script_export.h"

namespace attune::models {

torch::jit::Module script_modernbert_masked_lm(ModernBertForMaskedLMImpl& model, script::ClassNames& names) {
  TORCH_CHECK(model.modernbert->head, "script export: ModernBertForMaskedLM without its head");
  torch::jit::Module encoder = script_modernbert(*model.modernbert, names);
  TORCH_CHECK(encoder.hasattr(kScriptModernBertTokEmbeddings), "script export: the scripted encoder has no '",
              kScriptModernBertTokEmbeddings, "'");
  script::ScriptModuleBuilder b(names, "ModernBertForMaskedLM");
  const std::string body = b.submodule("modernbert", encoder);
  // The encoder's pool applies the head to one token per row; the masked LM applies it to
  // every position it scores, so the head is written here again (its weights are small).
  ModernBertHeadImpl& head = *model.modernbert->head;
  const std::string dense = b.linear(*head.dense, "head_dense", "hidden");
  const std::string transformed =
      b.layer_norm(*head.norm, "head_norm", script::activation_call(head.activation(), dense));
  const std::string bias = model.decoder_bias.defined() ? b.tensor("decoder_bias", model.decoder_bias) : "None";
  const std::string decoded = b.linear_call("h", body + "." + kScriptModernBertTokEmbeddings, bias);
  return script::build_masked_lm(b, body, transformed, decoded);
}

}  // namespace attune::models
