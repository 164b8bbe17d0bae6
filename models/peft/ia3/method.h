// IA3 (Liu et al. 2022), as PEFT's tuners/ia3.
#pragma once
#include "models/peft/method.h"

#include <memory>

namespace attune::peft {

std::unique_ptr<Method> make_ia3();

}  // namespace attune::peft
