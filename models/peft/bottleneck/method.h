// Bottleneck adapters (Houlsby et al. 2019; Pfeiffer et al. 2020): attune's own, PEFT has none.
#pragma once
#include "models/peft/method.h"

#include <memory>

namespace attune::peft {

std::unique_ptr<Method> make_bottleneck();

}  // namespace attune::peft
