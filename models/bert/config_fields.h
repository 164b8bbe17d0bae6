// Validated reads of one field of a JSON config object. Every failure is a one-line
// attune::UserError naming "<key>.<field>".
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attune::models::config_fields {

// Absent or null -> nullopt; otherwise an integer >= min.
std::optional<int64_t> optional_int(const nlohmann::json& cfg, const std::string& field, const std::string& key,
                                    int64_t min);
// Absent or null -> fallback; otherwise an integer >= min.
int64_t get_int(const nlohmann::json& cfg, const std::string& field, const std::string& key, int64_t min,
                int64_t fallback);
// A probability in [0, 1): dropout rates.
double get_rate(const nlohmann::json& cfg, const std::string& field, const std::string& key, double fallback);
// A number > 0.
double get_positive(const nlohmann::json& cfg, const std::string& field, const std::string& key, double fallback);
bool get_bool(const nlohmann::json& cfg, const std::string& field, const std::string& key, bool fallback);
std::string get_string(const nlohmann::json& cfg, const std::string& field, const std::string& key,
                       const std::string& fallback);
// Fails on the first key of cfg not in known (catches typos such as "num_layer").
void reject_unknown(const nlohmann::json& cfg, const std::vector<std::string>& known, const std::string& key);
// "a, b, c"
std::string join(const std::vector<std::string>& names);

}  // namespace attune::models::config_fields
