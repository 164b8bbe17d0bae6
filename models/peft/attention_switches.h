// Encoder attention switches whose weights no PEFT method trains: with an adapter they
// would stay frozen at their starting values, so a PEFT run refuses them. Parameter-free
// switches (masks, ALiBi) work with PEFT.
#pragma once
#include "models/transformer/encoder_attention.h"

#include <string>

namespace attune::peft {

// section names the model section in errors ("model").
void check_attention_switches(const models::EncoderAttentionOptions& attention, const std::string& section);

}  // namespace attune::peft
