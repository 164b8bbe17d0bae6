// One counter of a running `attune serve`'s Prometheus /metrics (-1 when the server does
// not answer or has no such line), for the serve tests.
#pragma once
#include <httplib.h>

#include <cstdint>
#include <string>

namespace attune::testing {

inline int64_t serve_metric(int port, const std::string& name) {
  httplib::Client client("127.0.0.1", port);
  const auto res = client.Get("/metrics");
  if (!res) return -1;
  const auto at = res->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stoll(res->body.substr(at + name.size() + 2));
}

}  // namespace attune::testing
