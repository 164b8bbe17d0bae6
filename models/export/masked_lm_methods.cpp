#include "models/export/masked_lm_methods.h"

namespace attune::script {

torch::jit::Module build_masked_lm(ScriptModuleBuilder& b, const std::string& encoder, const std::string& transformed,
                                   const std::string& decoded) {
  b.add_method("def head(self, hidden: Tensor) -> Tensor:\n"
               "    h = " + transformed + "\n"
               "    return " + decoded + "\n");
  // Only the rows of the flattened hidden states that `positions` names go through the head.
  b.add_method("def logits_at(self, input_ids: Tensor, attention_mask: Tensor, positions: Tensor, "
               "token_type_ids: Optional[Tensor]=None) -> Tensor:\n"
               "    hidden = " + encoder + ".forward(input_ids, attention_mask, token_type_ids)\n"
               "    return self.head(hidden.reshape(-1, hidden.size(-1)).index_select(0, positions))\n");
  return b.build("def forward(self, input_ids: Tensor, attention_mask: Tensor, "
                 "token_type_ids: Optional[Tensor]=None) -> Tensor:\n"
                 "    return self.head(" + encoder + ".forward(input_ids, attention_mask, token_type_ids))\n");
}

}  // namespace attune::script
