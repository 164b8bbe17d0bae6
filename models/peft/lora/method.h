// LoRA and rsLoRA (Hu et al. 2021; Kalajdzievski 2023), as PEFT's tuners/lora.
#pragma once
#include "models/peft/method.h"

#include <memory>

namespace attune::peft {

std::unique_ptr<Method> make_lora();
// The keys PEFT's adapter_config.json has for LoRA and the methods built on it (AdaLoRA).
void add_lora_adapter_config_keys(nlohmann::json& adapter_config);

}  // namespace attune::peft
