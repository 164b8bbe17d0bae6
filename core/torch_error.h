// One line of reason from any exception LibTorch may throw: c10::Error without the
// backtrace it appends, anything else as it is, cut to its first line.
#pragma once
#include "core/error.h"

#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace attune {

inline std::string error_reason(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return first_line(c10->what_without_backtrace());
  return first_line(e.what());
}

}  // namespace attune
