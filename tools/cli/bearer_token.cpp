#include "tools/cli/bearer_token.h"

#include "core/error.h"

#include <cctype>
#include <fstream>
#include <sstream>

namespace attune::cli {
namespace {

const char* const kSpace = " \t\r\n\f\v";

std::string trimmed(const std::string& s) {
  const auto begin = s.find_first_not_of(kSpace);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

}  // namespace

std::string read_bearer_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--auth-token-file", path + ": cannot read the file");
  std::ostringstream content;
  content << in.rdbuf();
  const std::string token = trimmed(content.str());
  if (token.empty()) fail("--auth-token-file", path + ": the file is empty");
  if (token.find_first_of(kSpace) != std::string::npos) {
    fail("--auth-token-file", path + ": expected one token, found white space inside it");
  }
  return token;
}

bool bearer_matches(const std::string& authorization, const std::string& token) {
  static const std::string scheme = "bearer ";
  if (authorization.size() < scheme.size()) return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return false;
  }
  const std::string given = trimmed(authorization.substr(scheme.size()));
  // Every byte of the token is looked at whatever the guess, and the length is folded
  // into the same accumulator: no early exit at the first difference.
  unsigned char differ = given.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    differ |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(token[i]));
  }
  return differ == 0;
}

}  // namespace attune::cli
