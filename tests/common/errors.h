// Checking user-facing error messages in tests.
#pragma once
#include "core/error.h"

#include <functional>
#include <string>

namespace attune::testing {

// The message of the UserError `f` throws, or a marker (which no expected message
// matches) when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no UserError thrown>";
}

// The message of any exception f throws (a failed TORCH_CHECK included), or "<no exception>".
inline std::string exception_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace attune::testing
