#include "tasks/recommendation/run_data.h"

#include "core/error.h"
#include "core/files.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::recommendation {
namespace {

const char* kCatalog = "catalog.json";
const char* kSequences = "sequences.json";
const char* kFeatures = "user_features.json";

int64_t add_value(FeatureTable& table, const std::string& value) {
  if (table.values.empty()) table.values.push_back("");
  auto [it, added] = table.index.emplace(value, static_cast<int64_t>(table.values.size()));
  if (added) table.values.push_back(value);
  return it->second;
}

}  // namespace

std::vector<int64_t> FeatureTable::encode(const nlohmann::json& features, const std::string& where) const {
  if (columns.empty()) return {};
  if (!features.is_object()) fail(where, "'features' must be an object with the keys of the run's user features");
  std::vector<int64_t> ids;
  for (const auto& column : columns) {
    if (!features.contains(column)) fail(where, "missing feature '" + column + "'");
    const auto& v = features[column];
    const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
    const auto it = index.find(column + "=" + text);
    ids.push_back(it == index.end() ? 0 : it->second);
  }
  return ids;
}

RunData build_run_data(const data::InteractionLog& log, const SequenceOptions& options,
                       const std::vector<std::string>& feature_columns) {
  UserSequences built = build_sequences(log, options);
  RunData data{std::move(built.catalog), std::move(built.sequences), {}};
  if (feature_columns.empty()) return data;
  data.features.columns = feature_columns;
  std::vector<size_t> newest(data.catalog.users.size(), log.rows.size());
  for (size_t r = 0; r < log.rows.size(); ++r) {
    const auto it = data.catalog.user_index.find(log.rows[r].user);
    if (it == data.catalog.user_index.end()) continue;
    size_t& n = newest[it->second];
    if (n == log.rows.size() || log.rows[r].time >= log.rows[n].time) n = r;
  }
  data.features.per_user.resize(data.catalog.users.size());
  for (size_t u = 0; u < newest.size(); ++u) {
    const auto& row = log.rows[newest[u]];
    for (size_t f = 0; f < feature_columns.size(); ++f) {
      data.features.per_user[u].push_back(add_value(data.features, feature_columns[f] + "=" + row.features[f]));
    }
  }
  return data;
}

void save_run_data(const std::string& run_dir, const RunData& data) {
  const std::vector<std::string> items(data.catalog.items.begin() + 1, data.catalog.items.end());
  io::write_json_atomic((fs::path(run_dir) / kCatalog).string(), {{"items", items}, {"users", data.catalog.users}});
  io::write_json_atomic((fs::path(run_dir) / kSequences).string(), data.sequences);
  if (!data.features.columns.empty()) {
    const std::vector<std::string> values(data.features.values.begin() + 1, data.features.values.end());
    io::write_json_atomic((fs::path(run_dir) / kFeatures).string(),
                          {{"columns", data.features.columns}, {"values", values}, {"users", data.features.per_user}});
  }
}

RunData load_run_data(const std::string& run_dir) {
  RunData data;
  const std::string catalog_path = (fs::path(run_dir) / kCatalog).string();
  const std::string sequences_path = (fs::path(run_dir) / kSequences).string();
  try {
    const nlohmann::json catalog = io::read_json(catalog_path);
    for (const auto& item : catalog.at("items")) data.catalog.add_item(item.get<std::string>());
    for (const auto& user : catalog.at("users")) data.catalog.add_user(user.get<std::string>());
    data.sequences = io::read_json(sequences_path).get<std::vector<std::vector<int64_t>>>();
  } catch (const nlohmann::json::exception& e) {
    fail(run_dir, std::string("not a recommendation run's catalogue and sequences: ") + e.what());
  }
  if (data.sequences.size() != data.catalog.users.size()) fail(sequences_path, "one sequence per user expected");
  for (const auto& s : data.sequences)
    for (int64_t item : s)
      if (item < 1 || item > data.catalog.num_items()) fail(sequences_path, "item index out of range");
  const std::string features_path = (fs::path(run_dir) / kFeatures).string();
  if (fs::exists(features_path)) {
    const nlohmann::json f = io::read_json(features_path);
    try {
      data.features.columns = f.at("columns").get<std::vector<std::string>>();
      for (const auto& v : f.at("values")) add_value(data.features, v.get<std::string>());
      data.features.per_user = f.at("users").get<std::vector<std::vector<int64_t>>>();
    } catch (const nlohmann::json::exception& e) {
      fail(features_path, e.what());
    }
  }
  return data;
}

void attach_features(std::vector<EvalCase>& cases, const FeatureTable& features) {
  if (features.per_user.empty()) return;
  for (auto& c : cases) c.features = features.per_user.at(c.user);
}

}  // namespace attune::recommendation
