// Tests include this instead of Catch2 directly, so that Catch2 v2 (Debian) and v3 both work.
#pragma once
#if defined(ATTUNE_CATCH3)
#include <catch2/catch_all.hpp>
// v2 had Approx in the global namespace; v3 keeps it in Catch.
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
