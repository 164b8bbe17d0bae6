#include "models/bert/hf_names.h"

#include <regex>
#include <utility>
#include <vector>

namespace attune::models {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

bool roberta_family(const std::string& t) { return t == "roberta" || t == "xlm-roberta" || t == "camembert"; }

// DistilBERT's names inside one transformer block, after "layer.N.".
const Pairs& distilbert_layer() {
  static const Pairs pairs = {
      {"attention.self.query.", "attention.q_lin."},    {"attention.self.key.", "attention.k_lin."},
      {"attention.self.value.", "attention.v_lin."},    {"attention.output.dense.", "attention.out_lin."},
      {"attention.output.LayerNorm.", "sa_layer_norm."}, {"intermediate.dense.", "ffn.lin1."},
      {"output.dense.", "ffn.lin2."},                    {"output.LayerNorm.", "output_layer_norm."},
  };
  return pairs;
}

// (attune prefix, HF prefix), most specific first; the base model's rename comes last.
Pairs name_prefixes(const std::string& type, HfBertArchitecture arch) {
  Pairs p;
  const bool cls = arch == HfBertArchitecture::kSequenceClassification;
  const bool mlm = arch == HfBertArchitecture::kMaskedLM;
  if (cls && (roberta_family(type) || type == "electra")) {
    p = {{"bert.pooler.dense.", "classifier.dense."}, {"classifier.", "classifier.out_proj."}};
  } else if (cls && type == "distilbert") {
    p = {{"bert.pooler.dense.", "pre_classifier."}};
  } else if (mlm && roberta_family(type)) {
    p = {{"cls.predictions.transform.dense.", "lm_head.dense."},
         {"cls.predictions.transform.LayerNorm.", "lm_head.layer_norm."},
         {"cls.predictions.bias", "lm_head.bias"},
         {"cls.predictions.decoder.", "lm_head.decoder."}};
  } else if (mlm && type == "distilbert") {
    p = {{"cls.predictions.transform.dense.", "vocab_transform."},
         {"cls.predictions.transform.LayerNorm.", "vocab_layer_norm."},
         {"cls.predictions.bias", "vocab_projector.bias"},
         {"cls.predictions.decoder.weight", "vocab_projector.weight"}};
  }
  if (type != "bert") p.emplace_back("bert.", hf_base_prefix(type) + ".");
  return p;
}

std::string rename_prefix(const std::string& name, const Pairs& pairs, bool forward) {
  for (const auto& [ours, theirs] : pairs) {
    const std::string& from = forward ? ours : theirs;
    const std::string& to = forward ? theirs : ours;
    if (name.compare(0, from.size(), from) == 0) return to + name.substr(from.size());
  }
  return name;
}

// "encoder.layer.N.<inner>" <-> "transformer.layer.N.<inner'>" (DistilBERT).
std::string distilbert_block(const std::string& path, bool forward) {
  static const std::regex ours(R"(^encoder\.layer\.(\d+)\.(.*)$)"), theirs(R"(^transformer\.layer\.(\d+)\.(.*)$)");
  std::smatch m;
  if (!std::regex_match(path, m, forward ? ours : theirs)) return path;
  const std::string inner = rename_prefix(m[2].str() + ".", distilbert_layer(), forward);
  return (forward ? "transformer.layer." : "encoder.layer.") + m[1].str() + "." + inner.substr(0, inner.size() - 1);
}

}  // namespace

std::string hf_base_prefix(const std::string& model_type) {
  return roberta_family(model_type) ? "roberta" : model_type;
}

std::string hf_class_name(const std::string& type, HfBertArchitecture architecture) {
  std::string stem = "Bert";
  if (type == "roberta") stem = "Roberta";
  if (type == "xlm-roberta") stem = "XLMRoberta";
  if (type == "camembert") stem = "Camembert";
  if (type == "distilbert") stem = "DistilBert";
  if (type == "electra") stem = "Electra";
  switch (architecture) {
    case HfBertArchitecture::kBertModel: return stem + "Model";
    case HfBertArchitecture::kSequenceClassification: return stem + "ForSequenceClassification";
    case HfBertArchitecture::kMaskedLM: return stem + "ForMaskedLM";
  }
  return stem;
}

std::string to_hf_name(const std::string& type, HfBertArchitecture arch, const std::string& name) {
  std::string n = rename_prefix(name, name_prefixes(type, arch), true);
  if (type == "distilbert") {
    const std::string base = "distilbert.";
    if (n.compare(0, base.size(), base) == 0) n = base + distilbert_block(n.substr(base.size()), true);
  }
  return n;
}

std::string from_hf_name(const std::string& type, HfBertArchitecture arch, const std::string& name) {
  std::string n = name;
  if (type == "distilbert") {
    const std::string base = "distilbert.";
    if (n.compare(0, base.size(), base) == 0) n = base + distilbert_block(n.substr(base.size()), false);
  }
  return rename_prefix(n, name_prefixes(type, arch), false);
}

std::string hf_saved_name(const std::string& type, HfBertArchitecture arch, const std::string& name) {
  const bool base = arch == HfBertArchitecture::kBertModel;
  std::string n = base && name.compare(0, 5, "bert.") != 0 ? "bert." + name : name;
  n = to_hf_name(type, arch, n);
  const std::string prefix = hf_base_prefix(type) + ".";
  if (base && n.compare(0, prefix.size(), prefix) == 0) n = n.substr(prefix.size());
  return n;
}

std::string hf_module_path(const std::string& model_type, const std::string& path) {
  return model_type == "distilbert" ? distilbert_block(path, true) : path;
}

}  // namespace attune::models
