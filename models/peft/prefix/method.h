// Prefix tuning (Li & Liang 2021), as PEFT's tuners/prefix_tuning.
#pragma once
#include "models/peft/method.h"

#include <memory>

namespace attune::peft {

std::unique_ptr<Method> make_prefix_tuning();

}  // namespace attune::peft
