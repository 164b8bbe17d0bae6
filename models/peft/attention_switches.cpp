#include "models/peft/attention_switches.h"

#include "core/error.h"

namespace attune::peft {

void check_attention_switches(const models::EncoderAttentionOptions& a, const std::string& section) {
  if (a.layer_fusion) {
    fail(section + ".layer_fusion", "layer fusion's weights are not a PEFT module yet: use it with full fine-tuning");
  }
  if (a.position_bias == "relative") {
    fail(section + ".position_bias", "the relative position bias is not a PEFT module yet: use alibi, or full fine-tuning");
  }
}

}  // namespace attune::peft
