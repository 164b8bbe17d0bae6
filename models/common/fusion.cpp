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

Fusions from_environment() {
  Fusions f;
  const char* names = std::getenv("ATTUNE_UNFUSE");
  std::stringstream list(names ? names : "");
  for (std::string name; std::getline(list, name, ',');) {
    if (name.empty()) continue;
    bool* s = setting(f, name);
    if (!s) fail("ATTUNE_UNFUSE", "unknown fused path '" + name + "' (known: qkv, bf16_stream)");
    *s = false;
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

void unfuse(const std::string& name, const std::string& where) {
  if (bool* s = setting(fusions(), name)) {
    *s = false;
    return;
  }
  std::string known;
  for (const auto& n : fusion_names()) known += (known.empty() ? "" : ", ") + n;
  fail(where, "unknown fused path '" + name + "' (known: " + known + ")");
}

}  // namespace attune::models
