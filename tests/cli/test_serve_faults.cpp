// `attune serve` under load and faults, on loopback with small bounded counts: an
// overfilled queue, slow and vanishing clients, SIGTERM/SIGINT drains, the bearer token.
// ATTUNE_SERVE_DISCONNECTS sets the number of disconnecting clients a round (100 by
// default, three rounds; docs/export-and-serving.md reports a 10,000 run).
#include "tests/catch.h"

#if ATTUNE_HAS_SERVE
#include "tests/common/serve_metrics.h"
#include "tests/common/cli.h"
#include "tests/common/processes.h"
#include "tests/common/synthetic.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;
using attune::testing::Process;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One tiny classifier bundle for every test here (training it takes a few seconds).
const std::string& bundle() {
  static const std::string path = [] {
    const std::string dir = attune::testing::temp_dir("serve-faults");
    attune::testing::write_topics_csv(dir + "/train.csv", 120, 5);
    const auto train = attune::testing::run_attune(
        {"train", "--set", "run_dir=" + dir + "/run", "--set", "device=cpu", "--set", "data.train=" + dir + "/train.csv",
         "--set", "data.max_length=24", "--set", "tokenizer.vocab_size=120", "--set", "model.hidden_size=32", "--set",
         "model.num_layers=1", "--set", "model.num_heads=2", "--set", "model.intermediate_size=64", "--set",
         "train.epochs=1", "--set", "train.batch_size=16"});
    REQUIRE(train.status == 0);
    REQUIRE(attune::testing::run_attune({"export", "--run", dir + "/run", "--out", dir + "/bundle", "--overwrite"}).status == 0);
    return dir + "/bundle";
  }();
  return path;
}

struct Served {
  Process process;
  int port = 0;
};

// `attune serve` on a free port with `extra` options; its port read from its first line.
Served serve(const std::string& name, const std::vector<std::string>& extra) {
  const std::string dir = attune::testing::temp_dir("serve-faults-" + name);
  std::vector<std::string> args = {"serve", "--bundle", bundle(), "--port", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  Served s;
  s.process = attune::testing::spawn_attune(args, {}, dir + "/serve");
  for (int i = 0; i < 600 && s.port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string out = s.process.out();
    const auto at = out.find("http://127.0.0.1:");
    if (at != std::string::npos) s.port = std::atoi(out.c_str() + at + 17);
  }
  INFO(s.process.err());
  REQUIRE(s.port > 0);
  return s;
}

void stop(Served& s) {
  ::kill(s.process.pid, SIGTERM);
  attune::testing::wait_for(s.process, std::chrono::seconds(20));
}

// A raw loopback connection, for clients that misbehave in ways httplib's client cannot.
int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Whether the server ended the connection within `timeout`; what it sent before that.
bool closed_within(int fd, std::chrono::milliseconds timeout, std::string& received) {
  const auto until = Clock::now() + timeout;
  char buffer[4096];
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left))) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return true;
    received.append(buffer, static_cast<size_t>(n));
  }
  return false;
}

int64_t status_field_kb(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

int64_t open_fds(int pid) {
  int64_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

int64_t metric(int port, const std::string& name) { return attune::testing::serve_metric(port, name); }

const std::string kPredict = R"({"input": "the match goal"})";

// Waits (at most 20 s) until a request sits in the batcher's queue: in flight, whatever
// the load on the machine.
bool queued(int port) {
  for (int i = 0; i < 400; ++i) {
    if (metric(port, "attune_queued_inputs") > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("serve: past --max-queue every request gets 503 with Retry-After, and none is dropped", "[cli][serve][faults]") {
  Served s = serve("queue", {"--max-queue", "2", "--max-batch", "2", "--max-wait-ms", "1"});
  const int clients = 48, each = 10;
  std::atomic<int> ok{0}, refused{0}, refused_without_retry_after{0}, other{0}, dropped{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", s.port);
      client.set_keep_alive(true);
      for (int r = 0; r < each; ++r) {
        const auto res = client.Post("/predict", kPredict, "application/json");
        if (!res) {
          ++dropped;
        } else if (res->status == 200) {
          ++ok;
        } else if (res->status == 503) {
          ++refused;
          if (res->get_header_value("Retry-After").empty()) ++refused_without_retry_after;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  INFO("200: " << ok << ", 503: " << refused << ", other: " << other << ", dropped: " << dropped);
  CHECK(ok + refused == clients * each);  // every request answered, 200 or 503
  CHECK(dropped == 0);
  CHECK(refused > 0);  // the queue did overfill
  CHECK(ok > 0);
  CHECK(refused_without_retry_after == 0);
  CHECK(metric(s.port, "attune_rejected_total") == refused);
  stop(s);
}

TEST_CASE("serve: slow headers and trickling bodies time out at --read-timeout-s and free their worker",
          "[cli][serve][faults]") {
  // Two workers, both taken by slow clients: a third client is served only if the
  // timeouts free them.
  Served s = serve("slow", {"--threads", "2", "--read-timeout-s", "1"});
  const auto start = Clock::now();
  const int headers = connect_to(s.port);
  REQUIRE(headers >= 0);
  REQUIRE(send_all(headers, "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl"));
  const int body = connect_to(s.port);
  REQUIRE(body >= 0);
  REQUIRE(send_all(body, "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: 200\r\n\r\n{\"input\": \""));
  // One byte every 100 ms, which a per-read timeout never ends, until the server answers.
  std::string body_answer;
  double body_seconds = -1;
  std::thread trickle([&] {
    for (int i = 0; i < 80; ++i) {
      std::string got;
      if (closed_within(body, std::chrono::milliseconds(100), got) || !got.empty()) {
        body_answer = got;
        std::string rest;
        closed_within(body, std::chrono::milliseconds(500), rest);
        body_answer += rest;
        body_seconds = seconds_since(start);
        return;
      }
      if (!send_all(body, "a")) break;
    }
  });
  std::string header_answer;
  const bool header_closed = closed_within(headers, std::chrono::seconds(8), header_answer);
  const double header_seconds = seconds_since(start);
  // A well-behaved client, queued behind the two slow ones.
  httplib::Client client("127.0.0.1", s.port);
  client.set_read_timeout(20, 0);
  const auto res = client.Post("/predict", kPredict, "application/json");
  const double served_seconds = seconds_since(start);
  trickle.join();
  ::close(headers);
  ::close(body);

  INFO("headers: " << header_seconds << " s, " << header_answer << "\nbody: " << body_seconds << " s, " << body_answer);
  CHECK(header_closed);
  CHECK(header_seconds < 3.5);
  CHECK(header_answer.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(body_seconds > 0);
  CHECK(body_seconds < 3.5);
  CHECK(body_answer.rfind("HTTP/1.1 408", 0) == 0);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(served_seconds < 5);
  CHECK(metric(s.port, "attune_read_timeouts_total") == 2);
  stop(s);
}

TEST_CASE("serve: clients that vanish mid-request crash nothing and leak nothing", "[cli][serve][faults]") {
  const char* env = std::getenv("ATTUNE_SERVE_DISCONNECTS");
  const int total = env ? std::atoi(env) : 100;
  Served s = serve("disconnects", {});
  const int pid = s.process.pid;
  // Mid headers, mid body, and a whole request whose answer is never read.
  const std::vector<std::string> requests = {
      "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",
      "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"inp",
      "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
          std::to_string(kPredict.size()) + "\r\n\r\n" + kPredict};
  std::atomic<int> unconnected{0};
  auto vanish = [&](int from, int to) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = from + t; i < to; i += 8) {
          const int fd = connect_to(s.port);
          if (fd < 0) {
            ++unconnected;
            continue;
          }
          send_all(fd, requests[static_cast<size_t>(i) % requests.size()]);
          ::close(fd);
        }
      });
    }
    for (auto& t : threads) t.join();
  };
  // The server's descriptors once the connections have ended (a few seconds at most).
  const int64_t fds_idle = open_fds(pid);
  auto settled_fds = [&] {
    int64_t fds = open_fds(pid);
    for (int i = 0; i < 150 && fds > fds_idle; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      fds = open_fds(pid);
    }
    return fds;
  };
  // A first round as large as the measured one: the worker threads it wakes touch their
  // stacks and allocator arenas once, which raises RSS without being a leak.
  vanish(0, total);
  const int64_t fds_warm = settled_fds();
  const int64_t rss_warm = status_field_kb(pid, "VmRSS");
  vanish(total, 2 * total);
  const int64_t rss_before = status_field_kb(pid, "VmRSS");
  const auto start = Clock::now();
  vanish(2 * total, 3 * total);
  const double seconds = seconds_since(start);
  const int64_t fds_after = settled_fds();
  const int64_t rss_after = status_field_kb(pid, "VmRSS");
  httplib::Client client("127.0.0.1", s.port);
  const auto res = client.Post("/predict", kPredict, "application/json");

  INFO(total << " disconnects in " << seconds << " s; RSS " << rss_warm << ", " << rss_before << " -> " << rss_after << " kB; fds " << fds_idle
              << " -> " << fds_after);
  std::cout << "serve disconnects: 3 x " << total << ", the last in " << seconds << " s, VmRSS " << rss_warm << " -> "
            << rss_before << " -> " << rss_after
            << " kB, open fds " << fds_idle << " -> " << fds_after << std::endl;
  CHECK(unconnected == 0);
  CHECK(::kill(pid, 0) == 0);  // still running
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(fds_warm <= fds_idle);
  CHECK(fds_after <= fds_idle);
  CHECK(rss_after - rss_before < 16 * 1024);
  stop(s);
  CHECK(s.process.status == 0);
}

TEST_CASE("serve: SIGTERM drains (in-flight requests answered, /health says draining), exits 0", "[cli][serve][faults]") {
  // A lone request waits 3 s for company: it is in flight when the signal comes.
  Served s = serve("drain", {"--max-wait-ms", "3000", "--max-batch", "8"});
  int slow_status = -1;
  std::string slow_body;
  std::thread client([&] {
    httplib::Client c("127.0.0.1", s.port);
    c.set_read_timeout(20, 0);
    if (const auto res = c.Post("/predict", kPredict, "application/json")) {
      slow_status = res->status;
      slow_body = res->body;
    }
  });
  const bool in_flight = queued(s.port);  // checked once the client thread is joined
  const auto signalled = Clock::now();
  REQUIRE(::kill(s.process.pid, SIGTERM) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  httplib::Client other("127.0.0.1", s.port);
  const auto health = other.Get("/health");
  const auto refused = other.Post("/predict", kPredict, "application/json");
  client.join();
  const int status = attune::testing::wait_for(s.process, std::chrono::seconds(15));
  const double exit_seconds = seconds_since(signalled);

  INFO(s.process.out() << s.process.err());
  REQUIRE(in_flight);
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK(json::parse(health->body)["status"] == "draining");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(!refused->get_header_value("Retry-After").empty());
  REQUIRE(slow_status == 200);
  CHECK(json::parse(slow_body)["outputs"].size() == 1);
  CHECK(status == 0);
  CHECK(exit_seconds < 8);
  CHECK(s.process.out().find("attune serve: stopped") != std::string::npos);
}

TEST_CASE("serve: a drain is bounded by --drain-s; requests still running then fail the exit", "[cli][serve][faults]") {
  Served s = serve("drain-bound", {"--max-wait-ms", "8000", "--max-batch", "8", "--drain-s", "0.5"});
  std::thread client([&] {
    httplib::Client c("127.0.0.1", s.port);
    c.set_read_timeout(20, 0);
    c.Post("/predict", kPredict, "application/json");
  });
  const bool in_flight = queued(s.port);  // checked once the client thread is joined
  const auto signalled = Clock::now();
  REQUIRE(::kill(s.process.pid, SIGINT) == 0);
  const int status = attune::testing::wait_for(s.process, std::chrono::seconds(15));
  const double exit_seconds = seconds_since(signalled);
  client.join();
  INFO(s.process.err());
  REQUIRE(in_flight);
  CHECK(status == 1);
  CHECK(exit_seconds < 3);  // 0.5 s of drain, and at most 1 s for the workers
  CHECK(s.process.err().find("attune: error: --drain-s: 1 requests still in flight") != std::string::npos);
}

TEST_CASE("serve: --auth-token-file guards every route but /health with a bearer token", "[cli][serve][faults]") {
  const std::string dir = attune::testing::temp_dir("serve-faults-auth");
  // Bad flags stop serve before it listens: exit 2 and one line naming the flag.
  auto refused = [&](const std::vector<std::string>& flags, const std::string& message) {
    std::vector<std::string> args = {"serve", "--bundle", bundle()};
    args.insert(args.end(), flags.begin(), flags.end());
    const auto r = attune::testing::run_attune(args);
    INFO("stderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find("attune: error: " + message) != std::string::npos);
  };
  refused({"--auth-token-file", dir + "/none"}, "--auth-token-file: " + dir + "/none: cannot read the file");
  std::ofstream(dir + "/empty") << " \n";
  refused({"--auth-token-file", dir + "/empty"}, "--auth-token-file: " + dir + "/empty: the file is empty");
  std::ofstream(dir + "/two") << "one two\n";
  refused({"--auth-token-file", dir + "/two"},
          "--auth-token-file: " + dir + "/two: expected one token, found white space inside it");
  refused({"--read-timeout-s", "0"}, "--read-timeout-s: must be in (0, 3600]");
  refused({"--drain-s", "-1"}, "--drain-s: must be in [0, 3600]");

  std::ofstream(dir + "/token") << "  s3cret-Token.1\n";
  Served s = serve("auth-server", {"--auth-token-file", dir + "/token"});
  httplib::Client client("127.0.0.1", s.port);
  auto post = [&](const httplib::Headers& headers) { return client.Post("/predict", headers, kPredict, "application/json"); };
  for (const httplib::Headers& wrong :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer s3cret-Token"}},
        httplib::Headers{{"Authorization", "Bearer s3cret-Token.10"}}, httplib::Headers{{"Authorization", "s3cret-Token.1"}},
        httplib::Headers{{"Authorization", "Basic czNjcmV0LVRva2VuLjE="}}}) {
    const auto res = post(wrong);
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(res->get_header_value("WWW-Authenticate") == "Bearer");
    CHECK(json::parse(res->body).contains("error"));
  }
  for (const char* right : {"Bearer s3cret-Token.1", "bearer s3cret-Token.1", "Bearer  s3cret-Token.1 "}) {
    const auto res = post({{"Authorization", right}});
    REQUIRE(res);
    CHECK(res->status == 200);
  }
  const auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 401);
  const auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  const auto authed = client.Get("/metrics", {{"Authorization", "Bearer s3cret-Token.1"}});
  REQUIRE(authed);
  CHECK(authed->status == 200);
  CHECK(authed->body.find("attune_unauthorized_total 6") != std::string::npos);
  stop(s);
}
#endif
