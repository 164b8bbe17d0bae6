#include "models/bert/config_fields.h"

#include "data/error.h"

#include <algorithm>
#include <cmath>

namespace attune::models::config_fields {
namespace {

const nlohmann::json* find(const nlohmann::json& cfg, const std::string& field) {
  const auto it = cfg.find(field);
  return (it == cfg.end() || it->is_null()) ? nullptr : &*it;
}

std::string where(const std::string& key, const std::string& field) {
  return key.empty() ? field : key + "." + field;
}

}  // namespace

std::optional<int64_t> optional_int(const nlohmann::json& cfg, const std::string& field, const std::string& key,
                                    int64_t min) {
  const nlohmann::json* value = find(cfg, field);
  if (value == nullptr) return std::nullopt;
  const std::string expected = min == 1 ? "a positive integer" : "an integer >= " + std::to_string(min);
  if (!value->is_number_integer()) fail(where(key, field), "must be " + expected + ", got " + value->dump());
  const int64_t n = value->get<int64_t>();
  if (n < min) fail(where(key, field), "must be " + expected + ", got " + std::to_string(n));
  return n;
}

int64_t get_int(const nlohmann::json& cfg, const std::string& field, const std::string& key, int64_t min,
                int64_t fallback) {
  return optional_int(cfg, field, key, min).value_or(fallback);
}

double get_rate(const nlohmann::json& cfg, const std::string& field, const std::string& key, double fallback) {
  const nlohmann::json* value = find(cfg, field);
  if (value == nullptr) return fallback;
  if (!value->is_number()) fail(where(key, field), "must be a number in [0, 1), got " + value->dump());
  const double rate = value->get<double>();
  if (!(rate >= 0.0 && rate < 1.0)) fail(where(key, field), "must be in [0, 1), got " + value->dump());
  return rate;
}

double get_positive(const nlohmann::json& cfg, const std::string& field, const std::string& key, double fallback) {
  const nlohmann::json* value = find(cfg, field);
  if (value == nullptr) return fallback;
  if (!value->is_number() || !(value->get<double>() > 0.0) || !std::isfinite(value->get<double>())) {
    fail(where(key, field), "must be a positive number, got " + value->dump());
  }
  return value->get<double>();
}

bool get_bool(const nlohmann::json& cfg, const std::string& field, const std::string& key, bool fallback) {
  const nlohmann::json* value = find(cfg, field);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) fail(where(key, field), "must be true or false, got " + value->dump());
  return value->get<bool>();
}

std::string get_string(const nlohmann::json& cfg, const std::string& field, const std::string& key,
                       const std::string& fallback) {
  const nlohmann::json* value = find(cfg, field);
  if (value == nullptr) return fallback;
  if (!value->is_string()) fail(where(key, field), "must be a string, got " + value->dump());
  return value->get<std::string>();
}

void reject_unknown(const nlohmann::json& cfg, const std::vector<std::string>& known, const std::string& key) {
  for (const auto& item : cfg.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      fail(where(key, item.key()), "unknown key (known: " + join(known) + ")");
    }
  }
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace attune::models::config_fields
