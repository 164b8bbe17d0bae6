// Functions that read an input stream and write an output stream (predict and its
// kin), run on a string.
#pragma once

#include <functional>
#include <istream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace attune::testing {

// What `f` writes when it reads `text`.
inline std::string through(const std::function<void(std::istream&, std::ostream&)>& f, const std::string& text) {
  std::istringstream in(text);
  std::ostringstream out;
  f(in, out);
  return out.str();
}

// text's lines, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace attune::testing
