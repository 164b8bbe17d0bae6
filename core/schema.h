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
#include <optional>
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
                 t.*member = read_integer(v, path, min, max);
               });
  }

  Schema& number(const std::string& key, double T::*member, double min, double max, const std::string& help) {
    return add(key, help, [member](const T& t) { return nlohmann::json(t.*member); },
               [member, min, max](T& t, const nlohmann::json& v, const std::string& path) {
                 t.*member = read_number(v, path, min, max);
               });
  }

  // A probability in [0, 1): dropout rates.
  Schema& rate(const std::string& key, double T::*member, const std::string& help) {
    return add(key, help, [member](const T& t) { return nlohmann::json(t.*member); },
               [member](T& t, const nlohmann::json& v, const std::string& path) { t.*member = read_rate(v, path); });
  }

  Schema& optional_rate(const std::string& key, std::optional<double> T::*member, const std::string& help) {
    return optional(key, member, help,
                    [](const nlohmann::json& v, const std::string& path) { return read_rate(v, path); });
  }

  // A size or number that may be left unset (null): a preset or the data supplies it.
  Schema& optional_integer(const std::string& key, std::optional<int64_t> T::*member, int64_t min, int64_t max,
                           const std::string& help) {
    return optional(key, member, help, [min, max](const nlohmann::json& v, const std::string& path) {
      return read_integer(v, path, min, max);
    });
  }

  Schema& optional_number(const std::string& key, std::optional<double> T::*member, double min, double max,
                          const std::string& help) {
    return optional(key, member, help, [min, max](const nlohmann::json& v, const std::string& path) {
      return read_number(v, path, min, max);
    });
  }

  // A list of non-empty strings (column names, class names); null reads as empty.
  Schema& string_list(const std::string& key, std::vector<std::string> T::*member, const std::string& help) {
    return add(key, help, [member](const T& t) { return nlohmann::json(t.*member); },
               [member](T& t, const nlohmann::json& v, const std::string& path) {
                 std::vector<std::string> out;
                 if (!v.is_null() && !v.is_array()) fail(path, "expected a list of names, got " + type_name(v));
                 for (const auto& item : v.is_null() ? nlohmann::json::array() : v) {
                   if (!item.is_string() || item.get<std::string>().empty()) {
                     fail(path, "expected a list of names, got " + v.dump());
                   }
                   out.push_back(item.get<std::string>());
                 }
                 t.*member = std::move(out);
               });
  }

  // A value with a structure of its own (an attention mask spec), checked by `check`.
  Schema& json(const std::string& key, nlohmann::json T::*member,
               std::function<void(const nlohmann::json&, const std::string& path)> check, const std::string& help) {
    return add(key, help, [member](const T& t) { return t.*member; },
               [member, check](T& t, const nlohmann::json& v, const std::string& path) {
                 check(v, path);
                 t.*member = v;
               });
  }

  // The keys of a struct that several sections share (the attention switches of every
  // encoder), flat in this section.
  template <typename U>
  Schema& embed(U T::*member) {
    const Schema<U> inner = schema_of_embedded<U>();
    for (const auto& f : inner.fields()) {
      add(f.key, f.help, [member, write = f.write](const T& t) { return write(t.*member); },
          [member, read = f.read](T& t, const nlohmann::json& v, const std::string& path) { read(t.*member, v, path); });
    }
    for (const auto& rule : inner.rules()) {
      rules_.push_back([member, rule](const T& t, const std::string& prefix) { rule(t.*member, prefix); });
    }
    return *this;
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

  // A rule across keys (hidden_size divisible by num_heads), run after the keys are read;
  // it fails naming the key at fault.
  Schema& check(std::function<void(const T&, const std::string& prefix)> rule) {
    rules_.push_back(std::move(rule));
    return *this;
  }

  const std::vector<Field>& fields() const { return fields_; }
  const std::vector<std::function<void(const T&, const std::string&)>>& rules() const { return rules_; }

 private:
  Schema& add(const std::string& key, const std::string& help, std::function<nlohmann::json(const T&)> write,
              std::function<void(T&, const nlohmann::json&, const std::string&)> read) {
    fields_.push_back({key, help, std::move(write), std::move(read)});
    return *this;
  }

  // null reads as nullopt and writes back as null; any other value goes through `read`.
  template <typename V, typename Read>
  Schema& optional(const std::string& key, std::optional<V> T::*member, const std::string& help, Read read) {
    return add(key, help, [member](const T& t) { return t.*member ? nlohmann::json(*(t.*member)) : nlohmann::json(); },
               [member, read](T& t, const nlohmann::json& v, const std::string& path) {
                 if (v.is_null()) {
                   t.*member = std::nullopt;
                 } else {
                   t.*member = read(v, path);
                 }
               });
  }

  static int64_t read_integer(const nlohmann::json& v, const std::string& path, int64_t min, int64_t max) {
    if (!v.is_number_integer()) fail(path, "expected an integer, got " + type_name(v));
    const int64_t x = v.get<int64_t>();
    if (x < min || x > max) {
      fail(path, "value " + std::to_string(x) + " out of range [" + std::to_string(min) + ", " +
                     (max == std::numeric_limits<int64_t>::max() ? "inf" : std::to_string(max)) + "]");
    }
    return x;
  }

  static double read_number(const nlohmann::json& v, const std::string& path, double min, double max) {
    if (!v.is_number()) fail(path, "expected a number, got " + type_name(v));
    const double x = v.get<double>();
    if (!(x >= min && x <= max)) {
      std::ostringstream msg;
      msg << "value " << x << " out of range [" << min << ", " << max << "]";
      fail(path, msg.str());
    }
    return x;
  }

  static double read_rate(const nlohmann::json& v, const std::string& path) {
    if (!v.is_number()) fail(path, "expected a number, got " + type_name(v));
    const double x = v.get<double>();
    if (!(x >= 0.0 && x < 1.0)) {
      std::ostringstream msg;
      msg << "value " << x << " out of range [0, 1)";
      fail(path, msg.str());
    }
    return x;
  }

  template <typename U>
  static Schema<U> schema_of_embedded() {
    Schema<U> s;
    U::describe(s);
    return s;
  }

  std::vector<Field> fields_;
  std::vector<std::function<void(const T&, const std::string&)>> rules_;
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

// Appends help_lines for the keys a task shows of the section (those in `shown`, its
// default JSON), for `attune config --keys`.
template <typename T>
void append_help(std::vector<std::string>& lines, const std::string& prefix, const nlohmann::json& shown) {
  for (const auto& f : schema_of<T>().fields()) {
    if (shown.contains(f.key)) lines.push_back(key_path(prefix, f.key) + ": " + f.help);
  }
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
  for (const auto& rule : schema_of<T>().rules()) rule(value, prefix);
  return value;
}

}  // namespace attune::config
