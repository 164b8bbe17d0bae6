// Serving many adapters on one base (`attune serve --adapter`): the task's side (load an
// adapter from a directory, run a batch whose inputs name different adapters) and the
// server's table of loaded adapters, which requests, POST and DELETE /adapters share.
#pragma once
#include "tasks/serving/predictor.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace attune::serving {

struct LoadedAdapter {
  Route handle;          // what the batch function receives for the adapter's inputs
  nlohmann::json info;   // shown by GET /adapters: method, rank, bytes, ...
};

struct AdapterPredictor {
  Predictor base;            // base.run serves the base model alone
  RoutedBatchFunction run;   // a null route runs the base model
  // Reads and checks an adapter directory; fails with a UserError naming the file and key.
  std::function<LoadedAdapter(const std::string& dir, const std::string& name)> load;
};

// Adapter names go into URLs and metric labels: letters, digits, '_', '-', '.'.
// Fails naming `where` otherwise.
void check_adapter_name(const std::string& name, const std::string& where);

// "NAME=DIR" of --adapter; fails naming --adapter.
std::pair<std::string, std::string> parse_adapter_flag(const std::string& flag);

// Whether `path`, with symbolic links and ".." resolved, lies inside one of `roots`.
bool path_inside(const std::string& path, const std::vector<std::string>& roots);

class AdapterRegistry {
 public:
  // Adds or replaces `name`; returns whether it replaced one. Requests already queued keep
  // the adapter they resolved.
  bool put(const std::string& name, LoadedAdapter adapter, const std::string& path);
  bool remove(const std::string& name);
  // Null when no adapter has that name.
  std::shared_ptr<const LoadedAdapter> find(const std::string& name) const;
  std::vector<std::string> names() const;
  // [{name, path, requests, ...info}], sorted by name.
  nlohmann::json list() const;
  // Counts a request for `name` ("" = the base model).
  void count_request(const std::string& name);
  // Prometheus text: attune_adapter_requests_total{adapter="..."} (removed adapters keep
  // their count), attune_base_requests_total, attune_adapters_loaded.
  std::string prometheus() const;

 private:
  struct Entry {
    std::shared_ptr<const LoadedAdapter> adapter;
    std::string path;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> adapters_;
  std::map<std::string, int64_t> requests_;
  int64_t base_requests_ = 0;
};

}  // namespace attune::serving
