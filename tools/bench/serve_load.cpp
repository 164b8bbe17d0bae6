// attune_serve_load: a bounded load test of `attune serve` on loopback. C client threads
// send N requests in all (or stop after --seconds), each with k inputs taken in turn
// from a file, and report throughput and latency quantiles as one JSON object. With
// --expect (the JSONL that `attune predict` writes for the same file) every answer is
// also checked: the same label and probabilities within --tolerance. Every request
// sent is counted as answered (by status) or as a transport error, so a server that
// drops requests under overload shows it; with --accept-503 1 a 503 that carries
// Retry-After counts as a proper answer to overload.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& message) {
  std::cerr << "attune_serve_load: error: " << message << std::endl;
  std::exit(2);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) die(path + ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) die(path + ": no lines");
  return lines;
}

bool same_prediction(const nlohmann::json& got, const nlohmann::json& want, double tolerance) {
  if (want.contains("translation")) return got.contains("translation") && got["translation"] == want["translation"];
  if (!got.contains("label") || got["label"] != want["label"]) return false;
  const auto& p = got["probabilities"];
  const auto& q = want["probabilities"];
  if (!p.is_object() || p.size() != q.size()) return false;
  for (auto it = q.begin(); it != q.end(); ++it) {
    if (!p.contains(it.key()) || std::abs(p[it.key()].get<double>() - it.value().get<double>()) > tolerance) return false;
  }
  return true;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt = {{"--host", "127.0.0.1"}, {"--port", "8080"}, {"--concurrency", "8"},
                                            {"--requests", "1000"}, {"--seconds", "60"}, {"--per-request", "1"},
                                            {"--input", ""}, {"--expect", ""}, {"--tolerance", "1e-5"},
                                            {"--accept-503", "0"}, {"--auth-token-file", ""},
                                            {"--adapters", ""}, {"--ports", ""}};
  for (int i = 1; i < argc; i += 2) {
    if (!opt.count(argv[i]) || i + 1 >= argc) {
      die(std::string("usage: attune_serve_load --input TEXTS [--expect PREDICTIONS.jsonl] [--host H] [--port P] "
                      "[--concurrency C] [--requests N] [--seconds S] [--per-request K] [--tolerance T] [--accept-503 0|1] "
                      "[--auth-token-file F] [--adapters A,B,...] [--ports P1,P2,...]; bad: ") + argv[i]);
    }
    opt[argv[i]] = argv[i + 1];
  }
  if (opt["--input"].empty()) die("--input FILE is required");
  const std::vector<std::string> texts = read_lines(opt["--input"]);
  std::vector<nlohmann::json> expected;
  if (!opt["--expect"].empty()) {
    for (const auto& line : read_lines(opt["--expect"])) expected.push_back(nlohmann::json::parse(line));
    if (expected.size() != texts.size()) die(opt["--expect"] + ": " + std::to_string(expected.size()) +
                                             " lines for " + std::to_string(texts.size()) + " inputs");
  }
  const int concurrency = std::stoi(opt["--concurrency"]), port = std::stoi(opt["--port"]);
  const int64_t total = std::stoll(opt["--requests"]), per_request = std::stoll(opt["--per-request"]);
  const double seconds = std::stod(opt["--seconds"]), tolerance = std::stod(opt["--tolerance"]);
  if (concurrency < 1 || total < 1 || per_request < 1 || seconds <= 0) die("counts and --seconds must be positive");
  const bool accept_503 = opt["--accept-503"] == "1";
  httplib::Headers headers;
  if (!opt["--auth-token-file"].empty()) {
    std::string token = read_lines(opt["--auth-token-file"]).front();
    token.erase(token.find_last_not_of(" \t\r") + 1);
    headers.emplace("Authorization", "Bearer " + token.substr(token.find_first_not_of(" \t")));
  }

  // --adapters: request r names adapters[r % n] ("-": the base), so concurrent requests
  // mix adapters; --ports: client c talks to ports[c % n] (one server per adapter).
  auto split = [](const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
  };
  const std::vector<std::string> adapters = split(opt["--adapters"]);
  std::vector<int> ports;
  for (const auto& p : split(opt["--ports"])) ports.push_back(std::stoi(p));
  if (!adapters.empty() && !expected.empty()) die("--expect checks the base's answers; leave it out with --adapters");

  std::atomic<int64_t> next{0}, wrong{0}, transport_errors{0}, no_retry_after{0};
  std::mutex mutex;
  std::vector<double> latencies;
  std::map<int, int64_t> statuses;
  std::map<std::string, int64_t> error_kinds;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client(opt["--host"], ports.empty() ? port : ports[static_cast<size_t>(c) % ports.size()]);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(60, 0);
      std::vector<double> mine;
      std::map<int, int64_t> my_statuses;
      std::map<std::string, int64_t> my_errors;  // transport errors by kind (Read, Write, Connection...)
      for (int64_t r; (r = next++) < total && std::chrono::steady_clock::now() < deadline;) {
        nlohmann::json inputs = nlohmann::json::array();
        std::vector<size_t> index;
        for (int64_t k = 0; k < per_request; ++k) {
          index.push_back(static_cast<size_t>((r * per_request + k) % static_cast<int64_t>(texts.size())));
          inputs.push_back(texts[index.back()]);
        }
        const auto t0 = std::chrono::steady_clock::now();
        nlohmann::json request = {{"inputs", inputs}};
        if (!adapters.empty() && adapters[static_cast<size_t>(r) % adapters.size()] != "-") {
          request["adapter"] = adapters[static_cast<size_t>(r) % adapters.size()];
        }
        auto res = client.Post("/predict", headers, request.dump(), "application/json");
        mine.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (!res) {
          ++transport_errors;
          ++my_errors[httplib::to_string(res.error())];
          continue;
        }
        ++my_statuses[res->status];
        if (res->status == 503 && !res->has_header("Retry-After")) ++no_retry_after;
        if (res->status != 200 || expected.empty()) continue;
        const nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
        if (body.is_discarded() || !body.contains("outputs") || body["outputs"].size() != index.size()) {
          ++wrong;
          continue;
        }
        for (size_t k = 0; k < index.size(); ++k) {
          if (!same_prediction(body["outputs"][k], expected[index[k]], tolerance)) ++wrong;
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      for (const auto& [s, n] : my_statuses) statuses[s] += n;
      for (const auto& [e, n] : my_errors) error_kinds[e] += n;
    });
  }
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json status_counts = nlohmann::json::object();
  for (const auto& [s, n] : statuses) status_counts[std::to_string(s)] = n;
  const auto sent = static_cast<int64_t>(latencies.size());
  int64_t answered = 0;
  for (const auto& [s, n] : statuses) answered += n;
  const nlohmann::json report = {
      {"concurrency", concurrency}, {"per_request", per_request}, {"requests", sent},
      {"answered", answered}, {"statuses", status_counts}, {"503_without_retry_after", no_retry_after.load()}, {"transport_errors", transport_errors.load()}, {"transport_error_kinds", error_kinds},
      {"checked", !expected.empty()}, {"wrong_outputs", wrong.load()}, {"seconds", elapsed},
      {"requests_per_s", sent / elapsed}, {"inputs_per_s", sent * per_request / elapsed},
      {"p50_ms", 1e3 * quantile(latencies, 0.5)}, {"p90_ms", 1e3 * quantile(latencies, 0.9)},
      {"p99_ms", 1e3 * quantile(latencies, 0.99)}, {"max_ms", 1e3 * quantile(latencies, 1.0)}};
  std::cout << report.dump() << std::endl;
  bool ok = transport_errors == 0 && wrong == 0 && answered == sent && no_retry_after == 0;
  for (const auto& [s, n] : statuses) ok = ok && (s == 200 || (s == 503 && accept_503));
  return ok ? 0 : 1;
}
