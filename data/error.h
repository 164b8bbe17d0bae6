// Errors caused by the user's input (files, configs, flags). The CLI prints their
// message as one line on stderr and exits with status 2; anything else is a bug.
#pragma once
#include <stdexcept>
#include <string>

namespace attune {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "where" is a file (optionally with ":line"), a config key or a flag.
[[noreturn]] inline void fail(const std::string& where, const std::string& message) {
  throw UserError(where.empty() ? message : where + ": " + message);
}

}  // namespace attune
