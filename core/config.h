// The one family of JSON config access. A run is fully described by one JSON config:
// each task ships a complete default config; a user's file and `--set key=value`
// overrides are merged onto it, and every key must exist in the defaults, so a typo is
// an error with a suggestion instead of a silently ignored setting. Every read below
// fails with a one-line attune::UserError naming the full dotted key path.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attune::config {

// Merges `user` onto `defaults`. `source` names the file for error messages.
// Unknown keys fail with the nearest known key; a value whose JSON type differs
// from a non-null default fails naming the key and both types (integers are
// accepted where the default is a float).
nlohmann::json merge(const nlohmann::json& defaults, const nlohmann::json& user, const std::string& source);

// Applies "a.b.c=value" overrides. The value is parsed as JSON when it parses
// (numbers, true/false, null, arrays, quoted strings) and taken as a string otherwise.
void apply_overrides(nlohmann::json& config, const std::vector<std::string>& overrides);

// The dotted-path view used by overrides and error messages.
const nlohmann::json& at_path(const nlohmann::json& config, const std::string& dotted);

// The value of a required key (null allowed); fails "prefix.key: missing config key".
const nlohmann::json& at_field(const nlohmann::json& section, const std::string& key, const std::string& prefix);

// Typed getters that fail with the key when a value is missing, of the wrong
// type, or out of range.
std::string get_string(const nlohmann::json& section, const std::string& key, const std::string& prefix);
std::string get_optional_string(const nlohmann::json& section, const std::string& key, const std::string& prefix);
int64_t get_int(const nlohmann::json& section, const std::string& key, const std::string& prefix, int64_t min, int64_t max);
double get_double(const nlohmann::json& section, const std::string& key, const std::string& prefix, double min, double max);
bool get_bool(const nlohmann::json& section, const std::string& key, const std::string& prefix);
std::string get_choice(const nlohmann::json& section, const std::string& key, const std::string& prefix,
                       const std::vector<std::string>& choices);

// Reads of a field that may be absent or null (model sections, whose unset sizes come
// from a preset): the fallback then applies.
// Absent or null -> nullopt; otherwise an integer >= min.
std::optional<int64_t> optional_int(const nlohmann::json& section, const std::string& key, const std::string& prefix,
                                    int64_t min);
int64_t int_or(const nlohmann::json& section, const std::string& key, const std::string& prefix, int64_t min,
               int64_t fallback);
// A probability in [0, 1): dropout rates.
double rate_or(const nlohmann::json& section, const std::string& key, const std::string& prefix, double fallback);
// A finite number > 0.
double positive_or(const nlohmann::json& section, const std::string& key, const std::string& prefix, double fallback);
bool bool_or(const nlohmann::json& section, const std::string& key, const std::string& prefix, bool fallback);
std::string string_or(const nlohmann::json& section, const std::string& key, const std::string& prefix,
                      const std::string& fallback);
// Fails on the first key of `section` not in `known` (catches typos such as "num_layer").
void reject_unknown(const nlohmann::json& section, const std::vector<std::string>& known, const std::string& prefix);

// "a, b, c"
std::string join(const std::vector<std::string>& names);
// "prefix.key", or "key" at the top level.
std::string key_path(const std::string& prefix, const std::string& key);

// What a value is, for "expected X, got Y" errors: "an integer", "a string", "null", ...
std::string type_name(const nlohmann::json& v);

// The candidate closest to `word` by edit distance, or "" when none is close.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace attune::config
