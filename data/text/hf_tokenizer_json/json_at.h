// A JSON value together with where it sits ("tokenizer.json" and the path inside it),
// so that every complaint about a tokenizer.json names the file and the key at fault.
#pragma once
#include "core/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace attune::text::hf_json {

struct JsonAt {
  const nlohmann::json& value;
  std::string file;
  std::string path;  // "pre_tokenizer.pretokenizers[1]"; "" for the document itself

  std::string where(const std::string& key = "") const {
    std::string p = path;
    if (!key.empty()) p += (p.empty() ? "" : ".") + key;
    return p.empty() ? file : file + ": " + p;
  }
  [[noreturn]] void fail_at(const std::string& key, const std::string& what) const { fail(where(key), what); }

  bool has(const std::string& key) const { return value.is_object() && value.contains(key) && !value[key].is_null(); }
  JsonAt at(const std::string& key) const {
    if (!value.is_object()) fail(where(), "expected a JSON object, got " + value.dump());
    if (!value.contains(key)) fail(where(key), "missing");
    return {value[key], file, path.empty() ? key : path + "." + key};
  }
  JsonAt item(size_t i) const { return {value[i], file, path + "[" + std::to_string(i) + "]"}; }
  size_t size_of_array() const {
    if (!value.is_array()) fail(where(), "expected a JSON array, got " + value.dump().substr(0, 80));
    return value.size();
  }
  std::string str() const {
    if (!value.is_string()) fail(where(), "expected a string, got " + value.dump().substr(0, 80));
    return value.get<std::string>();
  }
  bool boolean() const {
    if (!value.is_boolean()) fail(where(), "expected true or false, got " + value.dump().substr(0, 80));
    return value.get<bool>();
  }
  int64_t integer() const {
    if (!value.is_number_integer()) fail(where(), "expected an integer, got " + value.dump().substr(0, 80));
    return value.get<int64_t>();
  }
  double number() const {
    if (!value.is_number()) fail(where(), "expected a number, got " + value.dump().substr(0, 80));
    return value.get<double>();
  }
  // Optional members: absent or null gives the fallback.
  std::string str_or(const std::string& key, const std::string& fallback) const { return has(key) ? at(key).str() : fallback; }
  bool bool_or(const std::string& key, bool fallback) const { return has(key) ? at(key).boolean() : fallback; }
  int64_t int_or(const std::string& key, int64_t fallback) const { return has(key) ? at(key).integer() : fallback; }
  // One code point, as the tokenizers library stores a `char` (Metaspace's replacement).
  char32_t single_char(const std::string& key) const;
  std::string type() const { return at("type").str(); }
  [[noreturn]] void unsupported_type() const { fail(where("type"), "unsupported '" + type() + "'"); }
};

}  // namespace attune::text::hf_json
