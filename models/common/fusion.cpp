#include "models/common/fusion.h"

#include "core/config.h"
#include "core/error.h"

#include <cstdlib>
#include <sstream>

namespace attune::models {

namespace {

// Each switch's name and its member: the one list the names, the environment and the
// command-line flags are read from.
const std::vector<std::pair<std::string, bool Fusions::*>>& switches() {
  static const std::vector<std::pair<std::string, bool Fusions::*>> table = {
      {"qkv", &Fusions::qkv}, {"qkv_cpu", &Fusions::qkv_cpu}, {"bf16_stream", &Fusions::bf16_stream}};
  return table;
}

void set(Fusions& f, const std::string& name, bool on, const std::string& where) {
  for (const auto& [known, member] : switches()) {
    if (known == name) {
      f.*member = on;
      return;
    }
  }
  fail(where, "unknown fused path '" + name + "' (known: " + config::join(fusion_names()) + ")");
}

Fusions from_environment() {
  Fusions f;
  for (const auto& [variable, on] : {std::pair{"ATTUNE_FUSE", true}, std::pair{"ATTUNE_UNFUSE", false}}) {
    const char* names = std::getenv(variable);
    std::stringstream list(names ? names : "");
    for (std::string name; std::getline(list, name, ',');) {
      if (!name.empty()) set(f, name, on, variable);
    }
  }
  return f;
}

}  // namespace

Fusions& fusions() {
  static Fusions settings = from_environment();
  return settings;
}

const std::vector<std::string>& fusion_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : switches()) out.push_back(entry.first);
    return out;
  }();
  return names;
}

std::vector<std::pair<std::string, bool>> fusion_state() {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& [name, member] : switches()) out.emplace_back(name, fusions().*member);
  return out;
}

void set_fusion(const std::string& name, bool on, const std::string& where) { set(fusions(), name, on, where); }

}  // namespace attune::models
