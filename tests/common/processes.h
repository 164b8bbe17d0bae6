// Several `attune` processes at once, as a launcher starts them: each with its own extra
// environment and its own stdout/stderr files, waited for with a deadline so that a
// hanging worker fails the test instead of hanging it.
#pragma once
#include "tests/common/cli.h"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <map>
#include <netinet/in.h>
#include <random>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace attune::testing {

struct Process {
  pid_t pid = -1;
  std::string out_path, err_path;
  int status = -1;  // as run_attune reports it: exit code, or 128 + signal
  std::string err() const { return slurp(err_path); }
  std::string out() const { return slurp(out_path); }
};

inline std::string attune_exe() {
  const char* cli = std::getenv("ATTUNE_CLI");
  return cli ? cli : ATTUNE_BINARY_DIR "/attune";
}

// Starts `attune args...` with `env` added to this process's environment.
inline Process spawn_attune(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                            const std::string& log_prefix) {
  Process p;
  p.out_path = log_prefix + ".out";
  p.err_path = log_prefix + ".err";
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    if (!env.count(entry.substr(0, entry.find('=')))) envs.push_back(entry);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<std::string> argv = {attune_exe()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> a, e;
  for (auto& s : argv) a.push_back(s.data());
  a.push_back(nullptr);
  for (auto& s : envs) e.push_back(s.data());
  e.push_back(nullptr);
  p.pid = ::fork();
  if (p.pid == 0) {
    if (!std::freopen(p.out_path.c_str(), "w", stdout) || !std::freopen(p.err_path.c_str(), "w", stderr)) std::_Exit(126);
    if (!std::freopen("/dev/null", "r", stdin)) std::_Exit(126);
    ::execve(a[0], a.data(), e.data());
    std::_Exit(127);
  }
  return p;
}

// Waits at most `timeout`; a process still running then is killed and reported as -1.
inline int wait_for(Process& p, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int raw = 0;
    const pid_t done = ::waitpid(p.pid, &raw, WNOHANG);
    if (done == p.pid) {
      p.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      return p.status;
    }
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(p.pid, SIGKILL);
      ::waitpid(p.pid, &raw, 0);
      p.status = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A port that was free a moment ago, in [low, high).
inline int free_port_in(int low, int high) {
  std::mt19937 rng(static_cast<uint32_t>(::getpid()) * 2654435761u ^
                   static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = low + static_cast<int>(rng() % static_cast<uint32_t>(high - low));
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok) return port;
  }
  return -1;
}

}  // namespace attune::testing
