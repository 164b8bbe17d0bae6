#include "tools/cli/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace attune::cli {
namespace {

using Clock = std::chrono::steady_clock;

thread_local bool t_timed_out = false;
thread_local bool t_close_after = false;

// poll() on one descriptor for `events`, retried on EINTR; true when ready (and not
// hung up or in error, for a write).
bool ready(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  const auto until = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    const int n = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left, 0, std::numeric_limits<int>::max())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (events == POLLOUT) return (p.revents & (POLLERR | POLLHUP | POLLNVAL)) == 0;
    return true;  // readable, or hung up: the read says which
  }
}

std::string address(const sockaddr_storage& a, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof(text));
    port = ntohs(in->sin6_port);
  }
  return text;
}

// One connection's socket, as httplib reads and writes it, with a deadline for the
// whole of each request rather than for each read. Buffered, and kept for the whole
// connection, so bytes of a pipelined next request are not lost between requests.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(socket_t sock, const HttpLimits& limits) : sock_(sock), limits_(limits) {}

  void begin_request() {
    deadline_ = Clock::now() + limits_.request_read;
    timed_out_ = false;
  }
  bool timed_out() const { return timed_out_; }
  bool buffered() const { return off_ < size_; }

  bool is_readable() const override { return buffered() || wait_readable(); }
  bool is_writable() const override { return ready(sock_, POLLOUT, limits_.write); }

  ssize_t read(char* ptr, size_t size) override {
    if (!buffered()) {
      if (!wait_readable()) {
        timed_out_ = t_timed_out = true;
        return -1;
      }
      ssize_t n;
      do {
        n = ::recv(sock_, buffer_, sizeof(buffer_), 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      off_ = 0;
      size_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, size_ - off_);
    std::memcpy(ptr, buffer_ + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(sock_, ptr, size, MSG_NOSIGNAL);  // a client gone is an error, not SIGPIPE
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof(a);
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&a), &len) == 0) ip = address(a, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof(a);
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&a), &len) == 0) ip = address(a, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  bool wait_readable() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    return left.count() > 0 && ready(sock_, POLLIN, left);
  }

  socket_t sock_;
  const HttpLimits& limits_;
  Clock::time_point deadline_{};
  bool timed_out_ = false;
  char buffer_[4096];
  size_t off_ = 0, size_ = 0;
};

}  // namespace

HttpServer::HttpServer(const HttpLimits& limits) : limits_(limits) {
  if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("attune serve: cannot create a pipe");
  // httplib still writes these into its Keep-Alive answer header.
  set_keep_alive_timeout(std::max<time_t>(1, std::chrono::duration_cast<std::chrono::seconds>(limits.keep_alive).count()));
  set_keep_alive_max_count(std::numeric_limits<int>::max());
}

HttpServer::~HttpServer() {
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void HttpServer::close_connections() {
  if (closing_.exchange(true)) return;
  const char byte = 1;
  // One byte left unread keeps the pipe readable, so it wakes every idle connection.
  if (::write(wake_[1], &byte, 1) != 1) {
    // Cannot happen on a fresh pipe; idle connections would then end at their keep-alive timeout.
  }
}

void HttpServer::close_after_response(httplib::Response& res) {
  res.set_header("Connection", "close");
  t_close_after = true;
}

bool HttpServer::read_timed_out() { return t_timed_out; }

bool HttpServer::process_and_close_socket(socket_t sock) {
  DeadlineStream stream(sock, limits_);
  for (;;) {
    // Idle until the next request's first byte, the keep-alive timeout, or closing.
    if (!stream.buffered()) {
      pollfd p[2] = {{sock, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      int n;
      do {
        n = ::poll(p, 2, static_cast<int>(limits_.keep_alive.count()));
      } while (n < 0 && errno == EINTR);
      if (n <= 0 || p[1].revents != 0 || (p[0].revents & POLLIN) == 0) break;
    }
    if (closing_) break;
    stream.begin_request();
    t_timed_out = t_close_after = false;
    bool connection_closed = false;
    const bool answered = process_request(stream, closing_, connection_closed, nullptr);
    if (stream.timed_out()) ++read_timeouts_;
    if (!answered || connection_closed || stream.timed_out() || t_close_after || closing_) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

}  // namespace attune::cli
