// The CPU data-parallel tests run on Gloo, which a build may lack (a pip PyTorch's
// LibTorch ships no Gloo headers): they skip there, with a warning, instead of failing.
#pragma once
#include "tests/catch.h"

#include "tasks/engine/distributed.h"

namespace attune::testing {

// False, having warned, when this build forms no CPU process groups.
inline bool gloo_or_skip() {
  if (attune::engine::has_gloo()) return true;
  WARN("skipped: this build has no Gloo, which the CPU data-parallel tests run on");
  return false;
}

}  // namespace attune::testing
