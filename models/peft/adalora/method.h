// AdaLoRA (Zhang et al. 2023), as PEFT's tuners/adalora: LoRA's keys plus the rank schedule.
#pragma once
#include "models/peft/method.h"

#include <memory>

namespace attune::peft {

std::unique_ptr<Method> make_adalora();

}  // namespace attune::peft
