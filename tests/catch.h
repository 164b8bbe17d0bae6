// Tests include this instead of Catch2 directly, so that Catch2 v2 (Debian) and v3 both work.
#pragma once
#if defined(ATTUNE_CATCH3)
#include <catch2/catch_all.hpp>
// v2 had Approx in the global namespace; v3 keeps it in Catch.
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif

#include <string>

namespace attune::testing {
// The substring matcher, renamed ContainsSubstring in v3 (v3's Contains matches ranges).
inline auto contains_text(const std::string& text) {
#if defined(ATTUNE_CATCH3)
  return Catch::Matchers::ContainsSubstring(text);
#else
  return Catch::Matchers::Contains(text);
#endif
}
}  // namespace attune::testing
