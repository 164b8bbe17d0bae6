#include "tasks/engine/launch.h"

#include "core/error.h"

#include <arpa/inet.h>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace attune::engine {
namespace {

volatile std::sig_atomic_t g_signal = 0;

void remember_signal(int signal) { g_signal = signal; }

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return std::string("was killed by signal ") + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// The environment of the worker: ours, with torchrun's variables set to its place.
std::vector<std::string> worker_environment(const std::map<std::string, std::string>& vars) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    if (!vars.count(entry.substr(0, entry.find('=')))) env.push_back(entry);
  }
  for (const auto& [name, value] : vars) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (auto& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

}  // namespace

int free_port(const std::string& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("--master-port", std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    fail("--master-port", "no free port on " + address + ": " + why);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int launch_workers(const LaunchOptions& o) {
  std::ostream& log = o.log ? *o.log : std::cerr;
  if (o.nproc_per_node < 1) fail("--nproc-per-node", "must be >= 1");
  if (o.nnodes < 1) fail("--nnodes", "must be >= 1");
  if (o.node_rank < 0 || o.node_rank >= o.nnodes) fail("--node-rank", "must be in [0, " + std::to_string(o.nnodes - 1) + "]");
  if (o.nnodes > 1 && o.master_port == 0) fail("--master-port", "required with --nnodes > 1 (every node must use the same)");
  if (o.master_port < 0 || o.master_port > 65535) fail("--master-port", "must be in [1, 65535]");
  const int port = o.master_port ? o.master_port : free_port(o.master_addr);
  const int world = o.nnodes * o.nproc_per_node;
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();

  // Workers get their own process group: a Ctrl-C on the terminal reaches this process
  // only, which forwards it once (a second one would make them exit without a checkpoint).
  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  std::map<pid_t, int> rank_of;
  std::string pids;
  for (int local = 0; local < o.nproc_per_node; ++local) {
    const int rank = o.node_rank * o.nproc_per_node + local;
    std::vector<std::string> env = worker_environment({{"RANK", std::to_string(rank)},
                                                      {"LOCAL_RANK", std::to_string(local)},
                                                      {"WORLD_SIZE", std::to_string(world)},
                                                      {"LOCAL_WORLD_SIZE", std::to_string(o.nproc_per_node)},
                                                      {"GROUP_RANK", std::to_string(o.node_rank)},
                                                      {"MASTER_ADDR", o.master_addr},
                                                      {"MASTER_PORT", std::to_string(port)}});
    std::vector<std::string> argv = {exe};
    argv.insert(argv.end(), o.args.begin(), o.args.end());
    std::vector<char*> envp = pointers(env), args = pointers(argv);
    const pid_t pid = ::fork();
    if (pid < 0) fail("--nproc-per-node", std::string("cannot start a worker: ") + std::strerror(errno));
    if (pid == 0) {
      ::setpgid(0, 0);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::execve(exe.c_str(), args.data(), envp.data());
      std::_Exit(127);
    }
    rank_of[pid] = rank;
    pids += (pids.empty() ? "" : " ") + std::to_string(pid);
  }
  log << "attune: launched ranks " << o.node_rank * o.nproc_per_node << "-" << (o.node_rank + 1) * o.nproc_per_node - 1
      << " of " << world << " as pids " << pids << " (rendezvous " << o.master_addr << ":" << port << ")" << std::endl;

  int failed_rank = -1;  // the first worker that failed, and how
  std::string failure;
  bool interrupted = false;
  std::chrono::steady_clock::time_point kill_at{};
  while (!rank_of.empty()) {
    if (g_signal) {
      const int sig = g_signal;
      g_signal = 0;
      interrupted = true;
      for (const auto& [pid, rank] : rank_of) ::kill(pid, sig);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0 && rank_of.count(pid)) {
      const int rank = rank_of[pid];
      rank_of.erase(pid);
      const bool ok = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || (interrupted && WEXITSTATUS(status) == 130));
      if (!ok && failed_rank < 0) {
        failed_rank = rank;
        failure = "(pid " + std::to_string(pid) + ") " + describe_status(status);
        for (const auto& [other, r] : rank_of) ::kill(other, SIGTERM);
        kill_at = std::chrono::steady_clock::now() + o.grace;
      }
      continue;
    }
    if (failed_rank >= 0 && std::chrono::steady_clock::now() >= kill_at) {
      for (const auto& [other, r] : rank_of) ::kill(other, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (failed_rank >= 0) fail("rank " + std::to_string(failed_rank), failure + "; stopped the other ranks");
  return interrupted ? 130 : 0;
}

}  // namespace attune::engine
