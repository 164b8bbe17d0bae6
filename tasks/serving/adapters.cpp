#include "tasks/serving/adapters.h"

#include "core/error.h"

#include <filesystem>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::serving {

void check_adapter_name(const std::string& name, const std::string& where) {
  static const std::regex kValid("[A-Za-z0-9_.-]{1,128}");
  if (!std::regex_match(name, kValid)) {
    fail(where, "invalid adapter name '" + name + "' (1 to 128 letters, digits, '_', '-' or '.')");
  }
}

std::pair<std::string, std::string> parse_adapter_flag(const std::string& flag) {
  const size_t eq = flag.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == flag.size()) {
    fail("--adapter", "expected NAME=DIR, got '" + flag + "'");
  }
  const std::string name = flag.substr(0, eq);
  check_adapter_name(name, "--adapter");
  return {name, flag.substr(eq + 1)};
}

bool path_inside(const std::string& path, const std::vector<std::string>& roots) {
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return false;
  for (const auto& root : roots) {
    const fs::path base = fs::weakly_canonical(fs::absolute(root, ec), ec);
    if (ec) continue;
    auto b = base.begin(), t = target.begin();
    for (; b != base.end() && t != target.end() && *b == *t; ++b, ++t) {
    }
    // A trailing separator leaves an empty last component on the root.
    if (b == base.end() || (std::next(b) == base.end() && b->empty())) return true;
  }
  return false;
}

bool AdapterRegistry::put(const std::string& name, LoadedAdapter adapter, const std::string& path) {
  auto shared = std::make_shared<const LoadedAdapter>(std::move(adapter));
  std::lock_guard<std::mutex> lock(mutex_);
  const bool replaced = adapters_.count(name) > 0;
  adapters_[name] = Entry{std::move(shared), path};
  requests_.emplace(name, 0);
  return replaced;
}

bool AdapterRegistry::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return adapters_.erase(name) > 0;
}

std::shared_ptr<const LoadedAdapter> AdapterRegistry::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = adapters_.find(name);
  return it == adapters_.end() ? nullptr : it->second.adapter;
}

std::vector<std::string> AdapterRegistry::names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, e] : adapters_) out.push_back(name);
  return out;
}

nlohmann::json AdapterRegistry::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, e] : adapters_) {
    nlohmann::json row = {{"name", name}, {"path", e.path}, {"requests", requests_.at(name)}};
    row.update(e.adapter->info);
    out.push_back(row);
  }
  return out;
}

void AdapterRegistry::count_request(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (name.empty()) {
    ++base_requests_;
  } else {
    ++requests_[name];
  }
}

std::string AdapterRegistry::prometheus() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "# TYPE attune_base_requests_total counter\nattune_base_requests_total " << base_requests_ << "\n"
      << "# TYPE attune_adapters_loaded gauge\nattune_adapters_loaded " << adapters_.size() << "\n"
      << "# TYPE attune_adapter_requests_total counter\n";
  for (const auto& [name, n] : requests_) out << "attune_adapter_requests_total{adapter=\"" << name << "\"} " << n << "\n";
  return out.str();
}

}  // namespace attune::serving
