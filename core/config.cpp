#include "core/config.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace attune::config {
namespace {

bool compatible(const nlohmann::json& default_value, const nlohmann::json& value) {
  if (default_value.is_null() || value.is_null()) return true;
  if (default_value.is_number() && value.is_number()) {
    return !(default_value.is_number_integer() && !value.is_number_integer());
  }
  return default_value.type() == value.type();
}

std::vector<std::string> keys_of(const nlohmann::json& object) {
  std::vector<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.push_back(it.key());
  return keys;
}

void merge_into(nlohmann::json& target, const nlohmann::json& user, const std::string& prefix,
                const std::string& source) {
  for (auto it = user.begin(); it != user.end(); ++it) {
    const std::string key = key_path(prefix, it.key());
    if (!target.contains(it.key())) {
      const std::string guess = nearest(it.key(), keys_of(target));
      fail(source, "unknown config key '" + key + "'" +
                       (guess.empty() ? std::string() : " (did you mean '" + key_path(prefix, guess) + "'?)"));
    }
    nlohmann::json& slot = target[it.key()];
    if (slot.is_object() && !slot.empty()) {
      if (!it.value().is_object()) fail(source, key + ": expected an object, got " + type_name(it.value()));
      merge_into(slot, it.value(), key, source);
    } else {
      if (!compatible(slot, it.value())) {
        fail(source, key + ": expected " + type_name(slot) + ", got " + type_name(it.value()));
      }
      slot = it.value();
    }
  }
}

// Present and not null, or nullptr.
const nlohmann::json* find_set(const nlohmann::json& section, const std::string& key) {
  const auto it = section.find(key);
  return (it == section.end() || it->is_null()) ? nullptr : &*it;
}

const nlohmann::json& require(const nlohmann::json& section, const std::string& key, const std::string& prefix) {
  if (!section.contains(key)) fail(key_path(prefix, key), "missing config key");
  return section.at(key);
}

}  // namespace

std::string type_name(const nlohmann::json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "true/false";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return "null";
}

std::string key_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

nlohmann::json merge(const nlohmann::json& defaults, const nlohmann::json& user, const std::string& source) {
  if (!user.is_object()) fail(source, "a config must be a JSON object");
  nlohmann::json result = defaults;
  merge_into(result, user, "", source);
  return result;
}

void apply_overrides(nlohmann::json& config, const std::vector<std::string>& overrides) {
  for (const std::string& item : overrides) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) fail("--set " + item, "expected key=value");
    const std::string key = item.substr(0, eq);
    const std::string text = item.substr(eq + 1);
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;
    // Build a one-key nested object and merge it, so overrides get the same checks as files.
    nlohmann::json patch = value;
    std::vector<std::string> parts;
    std::stringstream ss(key);
    for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) patch = nlohmann::json{{*it, patch}};
    config = merge(config, patch, "--set " + key);
  }
}

const nlohmann::json& at_path(const nlohmann::json& config, const std::string& dotted) {
  const nlohmann::json* node = &config;
  std::stringstream ss(dotted);
  for (std::string part; std::getline(ss, part, '.');) {
    if (!node->is_object() || !node->contains(part)) fail(dotted, "missing config key");
    node = &node->at(part);
  }
  return *node;
}

const nlohmann::json& at_field(const nlohmann::json& section, const std::string& key, const std::string& prefix) {
  return require(section, key, prefix);
}

std::string get_string(const nlohmann::json& section, const std::string& key, const std::string& prefix) {
  const auto& v = require(section, key, prefix);
  if (!v.is_string()) fail(key_path(prefix, key), "expected a string, got " + type_name(v));
  return v.get<std::string>();
}

std::string get_optional_string(const nlohmann::json& section, const std::string& key, const std::string& prefix) {
  const auto& v = require(section, key, prefix);
  if (v.is_null()) return "";
  return get_string(section, key, prefix);
}

int64_t get_int(const nlohmann::json& section, const std::string& key, const std::string& prefix, int64_t min,
                int64_t max) {
  const auto& v = require(section, key, prefix);
  if (!v.is_number_integer()) fail(key_path(prefix, key), "expected an integer, got " + type_name(v));
  const int64_t x = v.get<int64_t>();
  if (x < min || x > max) {
    fail(key_path(prefix, key), "value " + std::to_string(x) + " out of range [" + std::to_string(min) + ", " +
                                    (max == std::numeric_limits<int64_t>::max() ? "inf" : std::to_string(max)) + "]");
  }
  return x;
}

double get_double(const nlohmann::json& section, const std::string& key, const std::string& prefix, double min,
                  double max) {
  const auto& v = require(section, key, prefix);
  if (!v.is_number()) fail(key_path(prefix, key), "expected a number, got " + type_name(v));
  const double x = v.get<double>();
  if (!(x >= min && x <= max)) {
    std::ostringstream msg;
    msg << "value " << x << " out of range [" << min << ", " << max << "]";
    fail(key_path(prefix, key), msg.str());
  }
  return x;
}

bool get_bool(const nlohmann::json& section, const std::string& key, const std::string& prefix) {
  const auto& v = require(section, key, prefix);
  if (!v.is_boolean()) fail(key_path(prefix, key), "expected true/false, got " + type_name(v));
  return v.get<bool>();
}

std::string get_choice(const nlohmann::json& section, const std::string& key, const std::string& prefix,
                       const std::vector<std::string>& choices) {
  const std::string v = get_string(section, key, prefix);
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return v;
  std::string known;
  for (const auto& c : choices) known += (known.empty() ? "" : ", ") + c;
  fail(key_path(prefix, key), "unknown value '" + v + "' (known: " + known + ")");
}

std::optional<int64_t> optional_int(const nlohmann::json& section, const std::string& key, const std::string& prefix,
                                    int64_t min) {
  const nlohmann::json* value = find_set(section, key);
  if (value == nullptr) return std::nullopt;
  const std::string expected = min == 1 ? "a positive integer" : "an integer >= " + std::to_string(min);
  if (!value->is_number_integer()) fail(key_path(prefix, key), "must be " + expected + ", got " + value->dump());
  const int64_t n = value->get<int64_t>();
  if (n < min) fail(key_path(prefix, key), "must be " + expected + ", got " + std::to_string(n));
  return n;
}

int64_t int_or(const nlohmann::json& section, const std::string& key, const std::string& prefix, int64_t min,
               int64_t fallback) {
  return optional_int(section, key, prefix, min).value_or(fallback);
}

double rate_or(const nlohmann::json& section, const std::string& key, const std::string& prefix, double fallback) {
  const nlohmann::json* value = find_set(section, key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) fail(key_path(prefix, key), "must be a number in [0, 1), got " + value->dump());
  const double rate = value->get<double>();
  if (!(rate >= 0.0 && rate < 1.0)) fail(key_path(prefix, key), "must be in [0, 1), got " + value->dump());
  return rate;
}

double positive_or(const nlohmann::json& section, const std::string& key, const std::string& prefix, double fallback) {
  const nlohmann::json* value = find_set(section, key);
  if (value == nullptr) return fallback;
  if (!value->is_number() || !(value->get<double>() > 0.0) || !std::isfinite(value->get<double>())) {
    fail(key_path(prefix, key), "must be a positive number, got " + value->dump());
  }
  return value->get<double>();
}

bool bool_or(const nlohmann::json& section, const std::string& key, const std::string& prefix, bool fallback) {
  const nlohmann::json* value = find_set(section, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) fail(key_path(prefix, key), "must be true or false, got " + value->dump());
  return value->get<bool>();
}

std::string string_or(const nlohmann::json& section, const std::string& key, const std::string& prefix,
                      const std::string& fallback) {
  const nlohmann::json* value = find_set(section, key);
  if (value == nullptr) return fallback;
  if (!value->is_string()) fail(key_path(prefix, key), "must be a string, got " + value->dump());
  return value->get<std::string>();
}

void reject_unknown(const nlohmann::json& section, const std::vector<std::string>& known, const std::string& prefix) {
  for (const auto& item : section.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      fail(key_path(prefix, item.key()), "unknown key (known: " + join(known) + ")");
    }
  }
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    // Levenshtein distance, one row at a time.
    std::vector<size_t> row(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (word[i - 1] == c[j - 1] ? 0 : 1)});
        diagonal = up;
      }
    }
    if (row[c.size()] < best_distance) {
      best_distance = row[c.size()];
      best = c;
    }
  }
  // Only suggest when the guess is plausibly a typo of the word.
  return best_distance <= std::max<size_t>(2, word.size() / 3) ? best : std::string();
}

}  // namespace attune::config
