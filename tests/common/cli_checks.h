// Checks on the real `attune` binary's results (tests/common/cli.h): one-line user
// errors, and JSONL output read back.
#pragma once
#include "tests/catch.h"
#include "tests/common/cli.h"

#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace attune::testing {

// A user error: exit status 2, and stderr ends with exactly one error line, which
// contains `needle` (progress lines may precede it).
inline void check_user_error(const Result& r, const std::string& needle) {
  INFO("stderr: " << r.err);
  CHECK(r.status == 2);
  REQUIRE(!r.err.empty());
  CHECK(r.err.back() == '\n');
  const auto start = r.err.rfind('\n', r.err.size() - 2);
  const std::string last = r.err.substr(start == std::string::npos ? 0 : start + 1);
  CHECK(last.rfind("attune: error: ", 0) == 0);
  CHECK(last.find(needle) != std::string::npos);
  size_t errors = 0;
  for (size_t p = r.err.find("attune: error:"); p != std::string::npos; p = r.err.find("attune: error:", p + 1)) ++errors;
  CHECK(errors == 1);
}

inline std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace attune::testing
