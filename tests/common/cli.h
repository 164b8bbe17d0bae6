// Runs the real `attune` binary (ATTUNE_CLI, or the build's) as a user would: arguments,
// stdin text, exit status, stdout and stderr.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace attune::testing {

struct Result {
  int status = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline Result run_attune(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  const char* cli = std::getenv("ATTUNE_CLI");
  const std::string exe = cli ? cli : ATTUNE_BINARY_DIR "/attune";
  // One directory per test process: two test_cli runs at once (two checkouts) must not
  // read each other's output.
  const std::string dir = (std::filesystem::temp_directory_path() / ("attune-cli-io-" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/stdin") << stdin_text;
  std::string cmd = quote(exe);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " <" + dir + "/stdin >" + dir + "/stdout 2>" + dir + "/stderr";
  const int raw = std::system(cmd.c_str());
  Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = slurp(dir + "/stdout");
  r.err = slurp(dir + "/stderr");
  return r;
}

}  // namespace attune::testing
