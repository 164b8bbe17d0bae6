// `attune serve`: a bundle behind an HTTP JSON endpoint (cpp-httplib), with dynamic
// batching of concurrent requests, /health and Prometheus /metrics.
#include "core/error.h"
#include "tasks/registry.h"
#include "tasks/serving/adapters.h"
#include "tasks/serving/batcher.h"
#include "tasks/serving/continuous.h"
#include "tasks/serving/request.h"
#include "tools/cli/bearer_token.h"
#include "tools/cli/commands.h"
#include "tools/cli/http_server.h"
#include "tools/cli/options.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

namespace attune::cli {
namespace {

// The latencies of the most recent requests, for the quantiles /metrics reports.
class LatencyWindow {
 public:
  void add(double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (values_.size() < kSize) {
      values_.push_back(seconds);
    } else {
      values_[next_] = seconds;
    }
    next_ = (next_ + 1) % kSize;
    ++count_;
    sum_ += seconds;
  }
  // quantiles of the window; count and sum over all requests.
  std::string prometheus(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<double> sorted = values_;
    std::sort(sorted.begin(), sorted.end());
    std::ostringstream out;
    out << "# TYPE " << name << " summary\n";
    for (double q : {0.5, 0.9, 0.99}) {
      const double v = sorted.empty() ? 0.0 : sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()))];
      out << name << "{quantile=\"" << q << "\"} " << v << "\n";
    }
    out << name << "_sum " << sum_ << "\n" << name << "_count " << count_ << "\n";
    return out.str();
  }

 private:
  static constexpr size_t kSize = 10000;
  mutable std::mutex mutex_;
  std::vector<double> values_;
  size_t next_ = 0;
  int64_t count_ = 0;
  double sum_ = 0;
};

// Counts a request as in flight for as long as it is handled, so that a drain waits for it.
class Counted {
 public:
  explicit Counted(std::atomic<int64_t>& n) : n_(n) { ++n_; }
  ~Counted() { --n_; }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;

 private:
  std::atomic<int64_t>& n_;
};

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, {{"error", message}});
}

// An answer other than 400 for a request the client got wrong (404, 403).
struct HttpError : std::runtime_error {
  HttpError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

std::string loaded_list(const serving::AdapterRegistry& registry) {
  const std::vector<std::string> names = registry.names();
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return names.empty() ? "none are loaded" : "loaded: " + out;
}

}  // namespace

int serve_command(const Args& args) {
  cxxopts::Options options("attune serve",
                           "Serve a bundle written by `attune export` over HTTP. POST /predict with "
                           "{\"inputs\": [...]} (or {\"input\": ...}) answers {\"outputs\": [...]}, one per input, as "
                           "`attune predict` prints them; GET /health, GET /metrics (Prometheus text). With --adapter or --adapter-root "
                           "(a bundle exported with --adapter-base): PEFT adapters on the bundle's base, chosen per request "
                           "with \"adapter\": NAME and batched together; GET /adapters, POST /adapters {\"name\", \"path\"}, "
                           "DELETE /adapters/NAME.");
  options.add_options()
      ("b,bundle", "Bundle directory written by `attune export`", cxxopts::value<std::string>())
      ("host", "Address to listen on", cxxopts::value<std::string>()->default_value("127.0.0.1"))
      ("p,port", "Port (0: any free port, printed on start)", cxxopts::value<int>()->default_value("8080"))
      ("max-batch", "Inputs per forward pass (dynamic batching across requests); with continuous batching, sentences decoded at once", cxxopts::value<int64_t>()->default_value("32"))
      ("batching", "auto, static or continuous. Continuous (translation bundles): sentences join the running beam search between "
                   "decoding steps and leave it when they end; static: a batch runs to its end before the next starts. "
                   "auto: continuous where the bundle allows it", cxxopts::value<std::string>()->default_value("auto"))
      ("max-wait-ms", "How long a request waits for others to fill a batch", cxxopts::value<double>()->default_value("2"))
      ("max-queue", "Inputs waiting before requests are refused with 503", cxxopts::value<int64_t>()->default_value("4096"))
      ("max-inputs", "Inputs allowed in one request", cxxopts::value<int64_t>()->default_value("256"))
      ("threads", "HTTP worker threads: connections served at once (a client beyond them waits for one to close)", cxxopts::value<int>()->default_value("512"))
      ("read-timeout-s", "Time a client has to send a whole request, headers and body, from its first byte; a slower one gets 408", cxxopts::value<double>()->default_value("10"))
      ("drain-s", "On SIGTERM/SIGINT, how long in-flight requests may take to finish before the server exits anyway (status 1)", cxxopts::value<double>()->default_value("10"))
      ("auth-token-file", "File holding a bearer token that every request but GET /health must send (Authorization: Bearer TOKEN)", cxxopts::value<std::string>())
      ("device", "Device (auto, cpu, cuda); default: the device in the bundle's config.json", cxxopts::value<std::string>()->default_value(""))
      ("adapter", "NAME=DIR: serve a PEFT adapter (LoRA, rsLoRA, IA3: adapter_config.json + adapter_model.safetensors, "
                  "e.g. an attune PEFT run directory) on the bundle's base; requests choose it with \"adapter\": NAME. "
                  "Repeatable; needs a bundle exported with --adapter-base", cxxopts::value<std::vector<std::string>>())
      ("adapter-root", "Directory under which POST /adapters may load adapters (repeatable); also turns adapter "
                       "serving on without --adapter", cxxopts::value<std::vector<std::string>>());
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("bundle")) fail("attune serve", "--bundle DIR is required");
  const int64_t max_batch = parsed["max-batch"].as<int64_t>(), max_queue = parsed["max-queue"].as<int64_t>(),
                max_inputs = parsed["max-inputs"].as<int64_t>();
  const int threads = parsed["threads"].as<int>(), port = parsed["port"].as<int>();
  if (max_batch < 1) fail("--max-batch", "must be >= 1");
  if (max_queue < 1) fail("--max-queue", "must be >= 1");
  if (max_inputs < 1) fail("--max-inputs", "must be >= 1");
  if (threads < 1) fail("--threads", "must be >= 1");
  if (port < 0 || port > 65535) fail("--port", "must be in 0..65535");
  if (parsed["max-wait-ms"].as<double>() < 0) fail("--max-wait-ms", "must be >= 0");
  const double read_timeout_s = parsed["read-timeout-s"].as<double>(), drain_s = parsed["drain-s"].as<double>();
  if (!(read_timeout_s > 0 && read_timeout_s <= 3600)) fail("--read-timeout-s", "must be in (0, 3600]");
  if (!(drain_s >= 0 && drain_s <= 3600)) fail("--drain-s", "must be in [0, 3600]");
  const std::string token = parsed.count("auth-token-file") ? read_bearer_token(parsed["auth-token-file"].as<std::string>()) : "";

  // SIGINT / SIGTERM stop the server cleanly: they are blocked in every thread (so before
  // any is started: the batcher's, LibTorch's, httplib's) and one thread waits for them,
  // since httplib::Server::stop() is not safe to call from a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const std::string bundle_dir = parsed["bundle"].as<std::string>();
  const tasks::Task& task = tasks::task_of_bundle(bundle_dir);
  // With adapters the base runs as attune's own model, which applies each row's adapter
  // (tasks/classification/adapter_serving.h); without, the bundle's model.pt as before.
  const bool with_adapters = parsed.count("adapter") > 0 || parsed.count("adapter-root") > 0;
  std::vector<std::string> adapter_roots;
  if (parsed.count("adapter-root")) adapter_roots = parsed["adapter-root"].as<std::vector<std::string>>();
  for (const auto& root : adapter_roots) {
    if (!std::filesystem::is_directory(root)) fail("--adapter-root", root + " is not a directory");
  }
  serving::AdapterPredictor adapters;
  serving::AdapterRegistry registry;
  if (with_adapters) {
    adapters = task.serve_adapters(bundle_dir, parsed["device"].as<std::string>());
    if (parsed.count("adapter")) {
      for (const auto& flag : parsed["adapter"].as<std::vector<std::string>>()) {
        const auto [name, dir] = serving::parse_adapter_flag(flag);
        if (registry.find(name)) fail("--adapter", "adapter name '" + name + "' is given twice");
        try {
          registry.put(name, adapters.load(dir, name), dir);
        } catch (const UserError& e) {
          fail("--adapter " + name, e.what());
        }
      }
    }
  }
  const serving::Predictor predictor =
      with_adapters ? adapters.base : task.serve_bundle(bundle_dir, parsed["device"].as<std::string>(), max_batch);
  const auto batcher_options = serving::BatcherOptions()
                                   .max_batch(max_batch)
                                   .max_wait_ms(parsed["max-wait-ms"].as<double>())
                                   .max_queue(max_queue);
  const std::string batching = parsed["batching"].as<std::string>();
  if (batching != "auto" && batching != "static" && batching != "continuous") {
    fail("--batching", "must be auto, static or continuous, not '" + batching + "'");
  }
  if (batching == "continuous" && !predictor.stepper) {
    fail("--batching", "continuous batching needs a translation bundle exported by this attune (one with "
                       "decode_rows); this one is served with static batching only");
  }
  const bool continuous = predictor.stepper && batching != "static";
  std::unique_ptr<serving::Batcher> batcher;
  if (continuous) {
    batcher = std::make_unique<serving::ContinuousBatcher>(
        predictor.stepper(), serving::ContinuousOptions().max_running(max_batch).max_queue(max_queue));
  } else if (with_adapters) {
    batcher = std::make_unique<serving::DynamicBatcher>(adapters.run, batcher_options);
  } else {
    batcher = std::make_unique<serving::DynamicBatcher>(predictor.run, batcher_options);
  }
  LatencyWindow latency;
  std::atomic<int64_t> client_errors{0}, server_errors{0}, unauthorized{0}, in_flight{0};
  std::atomic<bool> draining{false};

  HttpLimits limits;
  limits.request_read = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(read_timeout_s * 1000)));
  HttpServer server(limits);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server.set_payload_max_length(16 << 20);
  // Small JSON answers would otherwise wait on Nagle and delayed ACKs (~40 ms each way).
  server.set_tcp_nodelay(true);
  // Before the body is read: a request without the token, or one that arrives while the
  // server drains, is answered at once, and its connection closed (its body unread).
  server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (!token.empty() && req.path != "/health" && !bearer_matches(req.get_header_value("Authorization"), token)) {
      ++unauthorized;
      res.set_header("WWW-Authenticate", "Bearer");
      reply_error(res, 401, req.has_header("Authorization") ? "wrong bearer token" : "a bearer token is required");
      HttpServer::close_after_response(res);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!draining) return httplib::Server::HandlerResponse::Unhandled;
    if (req.path == "/health") {
      reply(res, 503, {{"status", "draining"}});
    } else {
      res.set_header("Retry-After", "1");
      reply_error(res, 503, "the server is shutting down");
    }
    HttpServer::close_after_response(res);
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Post("/predict", [&](const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    // Counted from here, so that a drain waits for the request until it is answered.
    const Counted counted(in_flight);
    try {
      serving::PredictRequest request = serving::predict_request(req.body, predictor, max_inputs);
      serving::Route route;
      if (!request.adapter.empty()) {
        if (!with_adapters) {
          throw HttpError(404, "adapter: this server has no adapters (start it with --adapter NAME=DIR or --adapter-root DIR)");
        }
        // The request holds the adapter until it is answered, whatever DELETE or POST do meanwhile.
        const auto adapter = registry.find(request.adapter);
        if (!adapter) throw HttpError(404, "adapter: no adapter '" + request.adapter + "' (" + loaded_list(registry) + ")");
        route = adapter->handle;
      }
      if (with_adapters) registry.count_request(request.adapter);
      std::vector<nlohmann::json> outputs = batcher->submit(std::move(request.inputs), std::move(route)).get();
      reply(res, 200, {{"outputs", outputs}});
    } catch (const HttpError& e) {
      ++client_errors;
      reply_error(res, e.status, e.what());
    } catch (const UserError& e) {
      ++client_errors;
      reply_error(res, 400, e.what());
    } catch (const serving::Batcher::QueueFull& e) {
      ++server_errors;
      res.set_header("Retry-After", "1");  // overload passes: the client is told when to try again
      reply_error(res, 503, e.what());
    } catch (const std::exception& e) {
      ++server_errors;
      const std::string what = e.what();
      reply_error(res, 500, what.substr(0, what.find('\n')));
    }
    latency.add(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  });
  if (with_adapters) {
    server.Get("/adapters", [&](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, {{"adapters", registry.list()}});
    });
    // Loads (or replaces) an adapter while the server runs; requests already queued
    // finish on the adapter they named when they came.
    server.Post("/adapters", [&](const httplib::Request& req, httplib::Response& res) {
      const Counted counted(in_flight);
      try {
        const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (!body.is_object()) fail("body", "expected a JSON object {\"name\": ..., \"path\": ...}");
        for (const char* key : {"name", "path"}) {
          if (!body.contains(key) || !body[key].is_string()) fail(key, "must be a string");
        }
        const std::string name = body["name"].get<std::string>(), path = body["path"].get<std::string>();
        serving::check_adapter_name(name, "name");
        if (adapter_roots.empty()) {
          throw HttpError(403, "path: this server loads no adapters over HTTP (start it with --adapter-root DIR)");
        }
        if (!serving::path_inside(path, adapter_roots)) {
          throw HttpError(403, "path: " + path + " is outside the --adapter-root directories");
        }
        serving::LoadedAdapter loaded = adapters.load(path, name);
        nlohmann::json answer = loaded.info;
        answer["name"] = name;
        answer["path"] = path;
        answer["replaced"] = registry.put(name, std::move(loaded), path);
        reply(res, 200, answer);
      } catch (const HttpError& e) {
        ++client_errors;
        reply_error(res, e.status, e.what());
      } catch (const UserError& e) {
        ++client_errors;
        reply_error(res, 400, first_line(e.what()));
      } catch (const std::exception& e) {
        ++server_errors;
        reply_error(res, 500, first_line(e.what()));
      }
    });
    server.Delete(R"(/adapters/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
      const std::string name = req.matches[1];
      if (!registry.remove(name)) {
        ++client_errors;
        reply_error(res, 404, "no adapter '" + name + "' (" + loaded_list(registry) + ")");
        return;
      }
      reply(res, 200, {{"removed", name}});
    });
  }
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"status", "ok"}, {"task", predictor.task}, {"model", predictor.info},
                     {"batching", continuous ? "continuous" : "dynamic"}});
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    const serving::BatcherStats s = batcher->stats();
    std::ostringstream out;
    out << "# TYPE attune_requests_total counter\nattune_requests_total " << s.requests << "\n"
        << "# TYPE attune_inputs_total counter\nattune_inputs_total " << s.inputs << "\n"
        << "# TYPE attune_batches_total counter\nattune_batches_total " << s.batches << "\n"
        << "# TYPE attune_failed_batches_total counter\nattune_failed_batches_total " << s.failed_batches << "\n"
        << "# TYPE attune_rejected_total counter\nattune_rejected_total " << s.rejected << "\n"
        << "# TYPE attune_unauthorized_total counter\nattune_unauthorized_total " << unauthorized << "\n"
        << "# TYPE attune_read_timeouts_total counter\nattune_read_timeouts_total " << server.read_timeouts() << "\n"
        << "# TYPE attune_client_errors_total counter\nattune_client_errors_total " << client_errors << "\n"
        << "# TYPE attune_server_errors_total counter\nattune_server_errors_total " << server_errors << "\n"
        << "# TYPE attune_queued_inputs gauge\nattune_queued_inputs " << s.queued << "\n"
        << "# TYPE attune_batch_size_mean gauge\nattune_batch_size_mean " << s.mean_batch << "\n"
        << latency.prometheus("attune_request_seconds");
    if (with_adapters) out << registry.prometheus();
    res.set_content(out.str(), "text/plain; version=0.0.4");
  });
  // Unknown paths and methods: JSON errors, as every other answer.
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (HttpServer::read_timed_out()) {
      res.status = 408;
      reply_error(res, 408, "the request did not arrive within --read-timeout-s");
      HttpServer::close_after_response(res);
    } else if (res.body.empty()) {
      reply_error(res, res.status, res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                                                     : "HTTP " + std::to_string(res.status));
    }
  });
  server.set_exception_handler([&](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    ++server_errors;
    reply_error(res, 500, "internal error");
  });

  // cpp-httplib's default sets SO_REUSEPORT, with which a second server binds a port that
  // one already listens on and the kernel splits the connections between the two (maybe
  // with different models). SO_REUSEADDR alone still allows a restart while the old
  // server's connections linger in TIME_WAIT, and a busy port is an error.
  socket_t listening = -1;
  server.set_socket_options([&listening](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
    listening = sock;
  });
  const std::string host = parsed["host"].as<std::string>();
  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound < 0) fail("--port", "cannot listen on " + host + ":" + std::to_string(port));
  // Debian's cpp-httplib is a compiled library that listens with a backlog of 5: a burst
  // of new connections overflows it, and the kernel drops their SYNs, which clients see
  // as a stall of a second or more. Listening again on the socket raises it (Linux caps
  // it at net.core.somaxconn).
  if (listening >= 0) ::listen(listening, 4096);
  // The first SIGTERM/SIGINT drains: /health answers 503 "draining" and new requests 503
  // with Retry-After (so a balancer moves on), while the predictions already in a handler
  // finish, for at most --drain-s. Then the listener and every connection close. A second
  // signal ends the drain at once.
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool ended = false;  // listen_after_bind() returned
  std::atomic<bool> signalled{false};
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    {
      std::lock_guard<std::mutex> lock(stop_mutex);
      if (ended) return;
    }
    signalled = true;
    draining = true;
    std::cout << "attune serve: draining (" << in_flight << " requests in flight, up to " << drain_s << " s)" << std::endl;
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(std::ceil(drain_s * 1000)));
    const timespec tick{0, 20 * 1000 * 1000};
    while (in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) deadline = std::chrono::steady_clock::now();
    }
    server.close_connections();
    server.stop();
    // The workers finish writing their answers; a worker stuck past the deadline (a
    // handler still running, a client that reads nothing) is left behind by _Exit.
    std::unique_lock<std::mutex> lock(stop_mutex);
    const auto until = std::max(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    if (!stop_cv.wait_until(lock, until, [&] { return ended; })) {
      const int64_t left = in_flight;
      if (left > 0) std::cerr << "attune: error: --drain-s: " << left << " requests still in flight; exiting without them\n";
      std::cout << "attune serve: stopped" << std::endl;
      std::cerr.flush();
      std::_Exit(left > 0 ? 1 : 0);
    }
  });
  std::cout << "attune serve: " << predictor.task << " bundle on http://" << host << ":" << bound
            << (with_adapters ? " (POST /predict, GET/POST /adapters, DELETE /adapters/NAME, GET /health, GET /metrics)"
                              : " (POST /predict, GET /health, GET /metrics)")
            << std::endl;
  server.listen_after_bind();
  {
    std::lock_guard<std::mutex> lock(stop_mutex);
    ended = true;
  }
  stop_cv.notify_all();
  if (!signalled) pthread_kill(stopper.native_handle(), SIGTERM);  // the server ended on its own
  stopper.join();
  std::cout << "attune serve: stopped" << std::endl;
  return 0;
}

}  // namespace attune::cli
