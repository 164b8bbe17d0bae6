// Typed config sections. A section is a plain struct whose static describe() lists its
// keys once: name, member, range or choices, and a one-line help. From that one list
// come the section's defaults (what `attune config` prints), its parsing with
// validation (errors name the full key path), and its writing back, so a saved config
// round-trips exactly.
//
//   struct TrainConfig {
//     int64_t epochs = 3;
//     static void describe(config::Schema<TrainConfig>& s) {
//       s.integer("epochs", &TrainConfig::epochs, 1, 100000, "passes over the training data");
//     }
//   };
//   TrainConfig t = config::parse<TrainConfig>(json.at("train"), "train");
#pragma once
#include "core/config.h"
#include "core/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace attune::config {

// What parse() does with a key the section does not describe: a task may add its own
// keys to a shared section (translation's train.max_tokens), which the merge onto the
// task's defaults has already checked.
enum class UnknownKeys { kReject, kIgnore };

template <typename T>
class Schema {
 public:
  struct Field {
    std::string key;
    std::string help;
    std::function<nlohmann::json(const T&)> write;
    std::function<void(T&, const nlohmann::json&, const std::string& path)> read;
  };

  Schema& integer(const std::string& key, int64_t T::*member, int64_t min, int64_t max, const std::string& help) {
    return add(key, help, [member](const T& t) { return nlohmann::json(t.*member); },
               [member, min, max](T& t, const nlohmann::json& v, const std::string& path) {
                 if (!v.is_number_integer()) fail(path, "expected an integer, got " + type_name(v));
                 const int64_t x = v.get<int64_t>();
                 if (x < min || x > max) {
                   fail(path, "value " + std::to_string(x) + " out of range [" + std::to_string(min) + ", " +
                                  (max == std::numeric_limits<int64_t>::max() ? "inf" : std::to_string(max)) + "]");
                 }
                 t.*member = x;
               });
  }

  Schema& number(const std::string& key, double T::*member, double min, double max, const std::string& help) {
    return add(key, help, [member](const T& t) { return nlohmann::json(t.*member); },
               [member, min, max](T& t, const nlohmann::json& v, const std::string& path) {
                 if (!v.is_number()) fail(path, "expected a number, got " + type_name(v));
                 const double x = v.get<double>();
                 if (!(x >= min && x <= max)) {
                   std::ostringstream msg;
                   msg << "value " << x << " out of range [" << min << ", " << max << "]";
                   fail(path, msg.str());
                 }
                 t.*member = x;
               });
  }

  Schema& boolean(const std::string& key, bool T::*member, const std::string& help) {
    return add(key, help, [member](const T& t) { return nlohmann::json(t.*member); },
               [member](T& t, const nlohmann::json& v, const std::string& path) {
                 if (!v.is_boolean()) fail(path, "expected true/false, got " + type_name(v));
                 t.*member = v.get<bool>();
               });
  }

  Schema& string(const std::string& key, std::string T::*member, const std::string& help) {
    return add(key, help, [member](const T& t) { return nlohmann::json(t.*member); },
               [member](T& t, const nlohmann::json& v, const std::string& path) {
                 if (!v.is_string()) fail(path, "expected a string, got " + type_name(v));
                 t.*member = v.get<std::string>();
               });
  }

  // A string that may be null (a path not given): null reads as "" and "" writes as null.
  Schema& optional_string(const std::string& key, std::string T::*member, const std::string& help) {
    return add(key, help,
               [member](const T& t) { return (t.*member).empty() ? nlohmann::json() : nlohmann::json(t.*member); },
               [member](T& t, const nlohmann::json& v, const std::string& path) {
                 if (v.is_null()) {
                   t.*member = "";
                   return;
                 }
                 if (!v.is_string()) fail(path, "expected a string, got " + type_name(v));
                 t.*member = v.get<std::string>();
               });
  }

  Schema& choice(const std::string& key, std::string T::*member, const std::vector<std::string>& choices,
                 const std::string& help) {
    return add(key, help + " (" + join(choices) + ")", [member](const T& t) { return nlohmann::json(t.*member); },
               [member, choices](T& t, const nlohmann::json& v, const std::string& path) {
                 if (!v.is_string()) fail(path, "expected a string, got " + type_name(v));
                 const std::string s = v.get<std::string>();
                 if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
                   fail(path, "unknown value '" + s + "' (known: " + join(choices) + ")");
                 }
                 t.*member = s;
               });
  }

  // A switch that may be left to a default rule: null reads as -1, false as 0, true as 1.
  Schema& tristate(const std::string& key, int T::*member, const std::string& help) {
    return add(key, help,
               [member](const T& t) { return t.*member < 0 ? nlohmann::json() : nlohmann::json(t.*member == 1); },
               [member](T& t, const nlohmann::json& v, const std::string& path) {
                 if (!v.is_null() && !v.is_boolean()) fail(path, "expected true/false or null");
                 t.*member = v.is_null() ? -1 : (v.get<bool>() ? 1 : 0);
               });
  }

  const std::vector<Field>& fields() const { return fields_; }

 private:
  Schema& add(const std::string& key, const std::string& help, std::function<nlohmann::json(const T&)> write,
              std::function<void(T&, const nlohmann::json&, const std::string&)> read) {
    fields_.push_back({key, help, std::move(write), std::move(read)});
    return *this;
  }

  std::vector<Field> fields_;
};

template <typename T>
const Schema<T>& schema_of() {
  static const Schema<T> schema = [] {
    Schema<T> s;
    T::describe(s);
    return s;
  }();
  return schema;
}

// The section's JSON: every described key with its value in `value`.
template <typename T>
nlohmann::json to_json(const T& value) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : schema_of<T>().fields()) out[f.key] = f.write(value);
  return out;
}

// The section's JSON restricted to `keys`: a task that uses part of a shared section
// shows (and accepts) only that part.
template <typename T>
nlohmann::json to_json(const T& value, const std::vector<std::string>& keys) {
  const nlohmann::json all = to_json(value);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& key : keys) out[key] = all.at(key);
  return out;
}

// The defaults, as `attune config` prints them.
template <typename T>
nlohmann::json defaults() {
  return to_json(T{});
}

// One line per key: "prefix.key: help".
template <typename T>
std::vector<std::string> help_lines(const std::string& prefix) {
  std::vector<std::string> lines;
  for (const auto& f : schema_of<T>().fields()) lines.push_back(key_path(prefix, f.key) + ": " + f.help);
  return lines;
}

// Reads a section. A key that is absent keeps its default (configs saved before the key
// existed still load); an unknown key fails with the nearest known one, unless `unknown`
// lets the task's own keys pass.
template <typename T>
T parse(const nlohmann::json& section, const std::string& prefix, UnknownKeys unknown = UnknownKeys::kReject) {
  if (!section.is_object()) fail(prefix, "expected an object");
  const auto& fields = schema_of<T>().fields();
  if (unknown == UnknownKeys::kReject) {
    std::vector<std::string> known;
    for (const auto& f : fields) known.push_back(f.key);
    for (const auto& item : section.items()) {
      if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
      const std::string guess = nearest(item.key(), known);
      fail(key_path(prefix, item.key()),
           "unknown config key" + (guess.empty() ? std::string() : " (did you mean '" + key_path(prefix, guess) + "'?)"));
    }
  }
  T value;
  for (const auto& f : fields) {
    const auto it = section.find(f.key);
    if (it != section.end()) f.read(value, *it, key_path(prefix, f.key));
  }
  return value;
}

}  // namespace attune::config
