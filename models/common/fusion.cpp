#include "models/common/fusion.h"

#include "core/error.h"

#include <cstdlib>
#include <sstream>

namespace attune::models {

namespace {

bool* setting(Fusions& f, const std::string& name) {
  if (name == "qkv") return &f.qkv;
  if (name == "bf16_stream") return &f.bf16_stream;
  return nullptr;
}

std::string known_names() {
  std::string known;
  for (const auto& n : fusion_names()) known += (known.empty() ? "" : ", ") + n;
  return known;
}

void set(Fusions& f, const std::string& name, bool on, const std::string& where) {
  bool* s = setting(f, name);
  if (!s) fail(where, "unknown fused path '" + name + "' (known: " + known_names() + ")");
  *s = on;
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
  static const std::vector<std::string> names = {"qkv", "bf16_stream"};
  return names;
}

void set_fusion(const std::string& name, bool on, const std::string& where) { set(fusions(), name, on, where); }

}  // namespace attune::models
