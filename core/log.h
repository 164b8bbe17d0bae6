// Where a run's progress and messages go: standard error, unless a caller (a test, a
// program that embeds attune) redirects them for a scope.
#pragma once
#include <ostream>

namespace attune::log {

std::ostream& out();
// True when out() is a terminal, so a progress bar may redraw one line.
bool is_terminal();

// Sends out() to `to` for the guard's lifetime (nullptr keeps the current sink).
class Redirect {
 public:
  explicit Redirect(std::ostream* to);
  ~Redirect();
  Redirect(const Redirect&) = delete;
  Redirect& operator=(const Redirect&) = delete;

 private:
  std::ostream* previous_;
};

}  // namespace attune::log
