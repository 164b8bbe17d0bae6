#include "core/log.h"

#include "core/files.h"

#include <iostream>

namespace attune::log {
namespace {

// Redirected per thread: parallel tests each keep their own sink.
thread_local std::ostream* sink = nullptr;

}  // namespace

std::ostream& out() { return sink ? *sink : std::cerr; }

bool is_terminal() { return sink == nullptr && io::is_tty(2); }

Redirect::Redirect(std::ostream* to) : previous_(sink) {
  if (to) sink = to;
}

Redirect::~Redirect() { sink = previous_; }

}  // namespace attune::log
