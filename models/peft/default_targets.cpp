#include "models/peft/default_targets.h"

#include <algorithm>
#include <map>

namespace attune::peft {
namespace {

using nlohmann::json;
using Table = std::map<std::string, json>;

// Attention projections, by model_type. PEFT 0.17's LoRA table, plus (marked) the
// architectures attune imports for which PEFT has no entry.
const Table& lora_targets() {
  static const Table table = {
      {"bert", {"query", "value"}},
      {"roberta", {"query", "value"}},
      {"xlm-roberta", {"query", "value"}},
      {"electra", {"query", "value"}},
      {"deberta-v2", {"query_proj", "value_proj"}},
      {"camembert", {"query", "value"}},   // not in PEFT's table
      {"distilbert", {"q_lin", "v_lin"}},  // not in PEFT's table
      {"modernbert", {"Wqkv"}},            // not in PEFT's table: queries, keys and values are one layer
      {"marian", {"q_proj", "v_proj"}},    // not in PEFT's table; its "bart" entry
      {"vit", {"q_proj", "v_proj"}},       // not in PEFT's table; transformers' names since its ViT refactor
  };
  return table;
}

// PEFT's AdaLoRA table where it differs from LoRA's.
const Table& adalora_targets() {
  static const Table table = {
      {"roberta", {"query", "key", "value", "dense"}},
      {"deberta-v2", {"query_proj", "key_proj", "value_proj", "dense"}},
      {"marian", {"q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"}},  // PEFT's "bart" entry
  };
  return table;
}

// (target_modules, feedforward_modules): PEFT's IA3 tables, plus (marked) attune's.
const std::map<std::string, std::pair<json, json>>& ia3_targets() {
  static const std::map<std::string, std::pair<json, json>> table = {
      {"bert", {{"key", "value", "output.dense"}, {"output.dense"}}},
      {"roberta", {{"key", "value", "output.dense"}, {"output.dense"}}},
      {"deberta-v2", {{"key_proj", "value_proj", "output.dense"}, {"output.dense"}}},
      {"xlm-roberta", {{"key", "value", "output.dense"}, {"output.dense"}}},  // not in PEFT's tables
      {"camembert", {{"key", "value", "output.dense"}, {"output.dense"}}},    // not in PEFT's tables
      {"electra", {{"key", "value", "output.dense"}, {"output.dense"}}},      // not in PEFT's tables
      {"distilbert", {{"k_lin", "v_lin", "ffn.lin2"}, {"ffn.lin2"}}},        // not in PEFT's tables
      {"modernbert", {{"Wqkv", "mlp.Wo"}, {"mlp.Wo"}}},                      // not in PEFT's tables
      {"marian", {{"q_proj", "v_proj", "fc2"}, {"fc2"}}},                    // not in PEFT's tables; its "bart" entry
      {"vit", {{"k_proj", "v_proj", "mlp.fc2"}, {"mlp.fc2"}}},               // not in PEFT's tables; as "vit" above
  };
  return table;
}

// Architectures attune knows no table row for get BERT's names, which attune's own
// encoders use.
template <typename Value>
const Value& row(const std::map<std::string, Value>& table, const std::string& model_type) {
  const auto it = table.find(model_type);
  return it != table.end() ? it->second : table.at("bert");
}

}  // namespace

json with_default_targets(json resolved, const std::string& model_type) {
  const std::string method = resolved.value("method", std::string());
  const bool unset = !resolved.contains("target_modules") || resolved["target_modules"].is_null();
  if (method == "lora" && unset) {
    resolved["target_modules"] = row(lora_targets(), model_type);
  } else if (method == "adalora" && unset) {
    const auto it = adalora_targets().find(model_type);
    resolved["target_modules"] = it != adalora_targets().end() ? it->second : row(lora_targets(), model_type);
  } else if (method == "ia3") {
    const auto& [targets, feedforward] = row(ia3_targets(), model_type);
    const bool feedforward_unset = !resolved.contains("feedforward_modules") || resolved["feedforward_modules"].is_null();
    if (feedforward_unset && unset) {
      resolved["feedforward_modules"] = feedforward;
    } else if (feedforward_unset) {
      // PEFT wants feed-forward modules among the targets: of the defaults, those a
      // user's own target list names; none (null) otherwise.
      json kept = json::array();
      for (const auto& name : feedforward) {
        const json& own = resolved["target_modules"];
        if (own.is_array() && std::find(own.begin(), own.end(), name) != own.end()) kept.push_back(name);
      }
      resolved["feedforward_modules"] = kept.empty() ? json() : kept;
    }
    if (unset) resolved["target_modules"] = targets;
  }
  return resolved;
}

}  // namespace attune::peft
