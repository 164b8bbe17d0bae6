// BitFit (Ben Zaken et al. 2022): the model's biases train, nothing is added. PEFT has none.
#pragma once
#include "models/peft/method.h"

#include <memory>

namespace attune::peft {

std::unique_ptr<Method> make_bitfit();

}  // namespace attune::peft
