// `attune serve` started in the background on a free port (--port 0), for tests that
// query it over HTTP.
#pragma once
#include "tests/catch.h"
#include "tests/common/cli.h"

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace attune::testing {

struct Server {
  int port = 0, pid = 0;
  std::string log;
};

// The port is read from the server's first line; its output goes to dir/serve.log.
// extra: more flags for `attune serve`, already quoted where needed.
inline Server start_server(const std::string& bundle, const std::string& dir, const std::string& extra = "") {
  const char* cli = std::getenv("ATTUNE_CLI");
  const std::string exe = cli ? cli : ATTUNE_BINARY_DIR "/attune";
  Server server;
  server.log = dir + "/serve.log";
  REQUIRE(std::system((quote(exe) + " serve --bundle " + quote(bundle) + " --port 0 --max-wait-ms 5 " + extra + " >" +
                       quote(server.log) + " 2>&1 & echo $! >" + quote(dir + "/pid")).c_str()) == 0);
  for (int i = 0; i < 300 && server.port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string text = slurp(server.log);
    const auto at = text.find("http://127.0.0.1:");
    if (at != std::string::npos) server.port = std::atoi(text.c_str() + at + 17);
  }
  INFO(slurp(server.log));
  REQUIRE(server.port > 0);
  server.pid = std::stoi(slurp(dir + "/pid"));
  return server;
}

}  // namespace attune::testing
