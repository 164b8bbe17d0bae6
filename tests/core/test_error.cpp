#include "tests/catch.h"

#include "core/error.h"

TEST_CASE("first_line keeps one line, and a TorchScript interpreter error's reason", "[core][error]") {
  using attune::first_line;
  CHECK(first_line("a: b\nbacktrace\nmore") == "a: b");
  CHECK(first_line("") == "");
  CHECK(first_line("single") == "single");
  // torch::jit's interpreter: a generic header, the script's traceback, the reason last.
  const std::string interpreter =
      "The following operation failed in the TorchScript interpreter.\n"
      "Traceback of TorchScript (most recent call last):\n"
      "  File \"<string>\", line 3, in forward\n"
      "    scores = scores.masked_fill(keep.logical_not(), -3.4e38)\n"
      "             ~~~~~~~~~~~~~~~~~~ <--- HERE\n"
      "RuntimeError: value cannot be converted to type at::BFloat16 without overflow\n\n";
  CHECK(first_line(interpreter) == "RuntimeError: value cannot be converted to type at::BFloat16 without overflow");
  CHECK(first_line("The following operation failed in the TorchScript interpreter.") ==
        "The following operation failed in the TorchScript interpreter.");
}
