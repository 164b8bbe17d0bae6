// cpp-httplib's server with attune's own per-connection loop, for `attune serve`.
//
// Debian's cpp-httplib is a compiled 0.11.4 whose connection loop cannot do what a
// server under faults needs: its read timeout is per read() call, so a client that
// trickles a byte every few seconds holds a worker for ever; an idle keep-alive
// connection polls every 10 ms; and stop() ends every connection at once, so nothing
// can finish in-flight work while telling new clients it is draining. The library
// calls a virtual per-connection hook, so this class replaces that loop and keeps the
// rest (parsing, routing, handlers) as it is.
#pragma once
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace attune::cli {

struct HttpLimits {
  // From a request's first byte to the end of its body; a slower client gets a 408
  // (or, mid request line, a closed connection).
  std::chrono::milliseconds request_read{10000};
  // An idle keep-alive connection is closed after this.
  std::chrono::milliseconds keep_alive{5000};
  // A client that takes no bytes of its answer for this long is dropped.
  std::chrono::milliseconds write{5000};
};

class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(const HttpLimits& limits);
  ~HttpServer() override;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Ends every connection after its current request, idle ones at once. With stop()
  // (which closes the listener) listen_after_bind() then returns when the workers are done.
  void close_connections();
  int64_t read_timeouts() const { return read_timeouts_; }

  // The answer being written on this thread ends its connection (a body left unread
  // would otherwise be parsed as the next request).
  static void close_after_response(httplib::Response& res);
  // Whether the request on this thread ran out of time while it was being read.
  static bool read_timed_out();

 private:
  bool process_and_close_socket(socket_t sock) override;

  HttpLimits limits_;
  int wake_[2] = {-1, -1};  // a pipe written once by close_connections(), never read
  std::atomic<bool> closing_{false};
  std::atomic<int64_t> read_timeouts_{0};
};

}  // namespace attune::cli
