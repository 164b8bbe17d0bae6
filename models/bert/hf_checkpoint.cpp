#include "models/bert/hf_checkpoint.h"

#include "core/error.h"
#include "core/strings.h"
#include "core/files.h"
#include "models/bert/bert.h"
#include "models/bert/masked_lm.h"
#include "models/common/hf_folder.h"
#include "models/common/hf_labels.h"
#include "models/common/hf_tensors.h"

#include <map>
#include <set>

namespace attune::models {
namespace {

// HF's own renames for old checkpoints (TensorFlow-era LayerNorm names), then the
// encoder under its base prefix ("roberta.") whether or not the file had it, then attune's name.
std::string canonical_name(const std::string& name, const std::string& type, HfBertArchitecture arch) {
  std::string n = name;
  if (ends_with(n, ".gamma")) n = n.substr(0, n.size() - 6) + ".weight";
  if (ends_with(n, ".beta")) n = n.substr(0, n.size() - 5) + ".bias";
  for (const char* part : {"embeddings.", "encoder.", "pooler.", "transformer.", "embeddings_project."}) {
    if (starts_with(n, part)) n = hf_base_prefix(type) + "." + n;
  }
  return from_hf_name(type, arch, n);
}

bool any_name_starts_with(const std::map<std::string, torch::Tensor>& tensors, const std::vector<std::string>& prefixes) {
  for (const auto& [name, t] : tensors) {
    for (const auto& p : prefixes) {
      if (starts_with(name, p)) return true;
    }
  }
  return false;
}

HfBertArchitecture architecture_of(const nlohmann::json& config, const std::map<std::string, torch::Tensor>& tensors,
                                   const std::string& type, const std::string& config_path) {
  const auto it = config.find("architectures");
  if (it != config.end() && !it->is_null()) {
    if (!it->is_array() || it->empty() || !(*it)[0].is_string()) {
      fail(config_path + ": architectures", "must be a list of class names, got " + it->dump());
    }
    const std::string name = (*it)[0].get<std::string>();
    std::string supported;
    for (auto a : {HfBertArchitecture::kBertModel, HfBertArchitecture::kSequenceClassification,
                   HfBertArchitecture::kMaskedLM}) {
      // ELECTRA's masked LM is the generator, a different body; attune takes discriminators.
      if (type == "electra" && a == HfBertArchitecture::kMaskedLM) continue;
      if (name == hf_class_name(type, a)) return a;
      supported += (supported.empty() ? "" : ", ") + hf_class_name(type, a);
    }
    // Pre-training checkpoints are masked-LM plus a next-sentence head attune does not use.
    if (type == "bert" && name == "BertForPreTraining") return HfBertArchitecture::kMaskedLM;
    if (type == "bert") supported += ", BertForPreTraining";
    fail(config_path + ": architectures",
         "unsupported architecture '" + name + "' for model_type '" + type + "' (supported: " + supported + ")");
  }
  if (any_name_starts_with(tensors, {"classifier.", "pre_classifier."})) return HfBertArchitecture::kSequenceClassification;
  if (type != "electra" && any_name_starts_with(tensors, {"cls.predictions.", "lm_head.", "vocab_transform.", "vocab_projector."})) {
    return HfBertArchitecture::kMaskedLM;
  }
  return HfBertArchitecture::kBertModel;
}

// Names and shapes the architecture needs, in the module's order.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(HfBertArchitecture architecture,
                                                                           const BertOptions& options,
                                                                           int64_t num_labels) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  auto add_all = [&](const torch::nn::Module& module, const std::string& prefix) {
    for (const auto& p : module.named_parameters()) out.emplace_back(prefix + p.key(), p.value().sizes().vec());
  };
  if (architecture == HfBertArchitecture::kMaskedLM) {
    add_all(*BertForMaskedLM(options), "");
    return out;
  }
  add_all(*BertModel(options), "bert.");
  if (architecture == HfBertArchitecture::kSequenceClassification) {
    out.emplace_back("classifier.weight", std::vector<int64_t>{num_labels, options.hidden_size()});
    out.emplace_back("classifier.bias", std::vector<int64_t>{num_labels});
  }
  return out;
}

}  // namespace

std::string hf_architecture_name(HfBertArchitecture architecture, const std::string& model_type) {
  return hf_class_name(model_type, architecture);
}

HfBertCheckpoint read_hf_bert(const std::string& dir) {
  const HfFolderFiles files = hf_folder_files(dir, "checkpoint");
  const std::string& config_path = files.config;
  const std::string& weights_path = files.weights;

  HfBertCheckpoint ck;
  ck.config = io::read_json(config_path);
  try {
    ck.options = bert_options_from_json(ck.config, "config.json");
  } catch (const UserError& e) {
    fail(dir, e.what());  // "DIR: config.json.hidden_act: ..."
  }

  const std::string type = ck.options.model_type();
  const formats::SafetensorsFile file = formats::load_safetensors(weights_path);
  std::map<std::string, torch::Tensor> raw;
  for (const auto& name : file.names) raw[name] = file.tensors.at(name);
  ck.architecture = architecture_of(ck.config, raw, type, config_path);
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> original;  // canonical -> name in the file
  for (const auto& name : file.names) {
    const std::string n = canonical_name(name, type, ck.architecture);
    if (original.count(n)) fail(weights_path, "tensors '" + original[n] + "' and '" + name + "' are the same weight");
    original[n] = name;
    tensors[n] = file.tensors.at(name);
  }
  const std::string arch = hf_architecture_name(ck.architecture, type);
  switch (ck.architecture) {
    case HfBertArchitecture::kBertModel: ck.options.add_pooling_layer(tensors.count("bert.pooler.dense.weight") > 0); break;
    case HfBertArchitecture::kSequenceClassification: ck.options.add_pooling_layer(true); break;
    case HfBertArchitecture::kMaskedLM: ck.options.add_pooling_layer(false); break;
  }
  int64_t num_labels = 0;
  if (ck.architecture == HfBertArchitecture::kSequenceClassification) {
    check_single_label_problem(ck.config, config_path);
    ck.labels = read_classifier_labels(ck.config, tensors.count("classifier.weight") ? tensors.at("classifier.weight").size(0) : 0, config_path);
    num_labels = static_cast<int64_t>(ck.labels.size());
    const auto dropout = ck.config.find(type == "distilbert" ? "seq_classif_dropout" : "classifier_dropout");
    ck.classifier_dropout = dropout != ck.config.end() && dropout->is_number()
                                ? dropout->get<double>()
                                : type == "distilbert" ? 0.2 : ck.options.hidden_dropout_prob();
  }
  // Checkpoints saved before the bias moved into cls.predictions keep only the decoder's copy.
  if (ck.architecture == HfBertArchitecture::kMaskedLM && !tensors.count("cls.predictions.bias") &&
      tensors.count("cls.predictions.decoder.bias")) {
    tensors["cls.predictions.bias"] = tensors["cls.predictions.decoder.bias"];
    original["cls.predictions.bias"] = original["cls.predictions.decoder.bias"];
    tensors.erase("cls.predictions.decoder.bias");
  }

  // DistilBERT's sinusoidal table is a constant; a file without it gets transformers' own.
  const std::string sinusoid = "bert.embeddings.position_embeddings.weight";
  if (ck.options.sinusoidal_pos_embds() && !tensors.count(sinusoid)) {
    tensors[sinusoid] = sinusoidal_position_table(ck.options.max_position_embeddings(), ck.options.hidden_size());
    original[sinusoid] = to_hf_name(type, ck.architecture, sinusoid);
    ck.notes.push_back(weights_path + ": no '" + original[sinusoid] + "'; built the sinusoidal table (sinusoidal_pos_embds)");
  }
  std::vector<std::string> missing;
  std::set<std::string> used;
  for (const auto& [name, shape] : expected_tensors(ck.architecture, ck.options, num_labels)) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second.sizes().vec() != shape) {
      fail(weights_path, "tensor '" + original[name] + "' has shape " + shape_text(it->second.sizes()) +
                             ", config.json implies " + shape_text(shape));
    }
    if (!it->second.is_floating_point()) {
      fail(weights_path, "tensor '" + original[name] + "' is not floating point (" +
                             std::string(c10::toString(it->second.scalar_type())) + ")");
    }
    used.insert(name);
    ck.tensors.names.push_back(name);
    ck.tensors.tensors[name] = it->second.to(torch::kFloat);
  }
  if (!missing.empty()) {
    // Named as this file names its other tensors: HF's names, with or without the base prefix.
    const std::string base = hf_base_prefix(type) + ".";
    bool bare = false;
    for (const auto& [n, o] : original) bare = bare || (starts_with(n, "bert.") && !starts_with(o, base));
    for (auto& m : missing) {
      m = to_hf_name(type, ck.architecture, m);
      if (bare && starts_with(m, base)) m = m.substr(base.size());
    }
    fail(weights_path, (missing.size() == 1 ? "tensor " : "tensors ") + quoted_names(missing) + " missing (" + arch +
                           " needs " + (missing.size() == 1 ? "it)" : "them)"));
  }

  // Whatever is left is either a head attune does not use (noted) or a mistake.
  std::map<std::string, std::vector<std::string>> ignored;  // reason -> names
  std::vector<std::string> unexpected;
  const bool mlm = ck.architecture == HfBertArchitecture::kMaskedLM;
  for (const auto& [name, t] : tensors) {
    if (used.count(name)) continue;
    const std::string& orig = original[name];
    if (name == "bert.embeddings.position_ids" || name == "bert.embeddings.token_type_ids") {
      ignored["constant buffer, recomputed"].push_back(orig);
    } else if (starts_with(name, "cls.seq_relationship.")) {
      ignored["next-sentence prediction head, unused"].push_back(orig);
    } else if (mlm && starts_with(name, "bert.pooler.")) {
      ignored["pooler, which " + arch + " does not have"].push_back(orig);
    } else if (mlm && name == "cls.predictions.decoder.weight") {
      const torch::Tensor& embeddings = ck.tensors.tensors.at("bert.embeddings.word_embeddings.weight");
      if (t.sizes() != embeddings.sizes() || !torch::equal(t.to(torch::kFloat), embeddings)) {
        fail(weights_path, "tensor '" + orig + "' differs from the word embeddings: untied decoders are not "
                           "supported (attune's masked LM ties them, as transformers does by default)");
      }
      ignored["decoder weight, tied to the word embeddings"].push_back(orig);
    } else if (mlm && name == "cls.predictions.decoder.bias") {
      const torch::Tensor& bias = ck.tensors.tensors.at("cls.predictions.bias");
      if (t.sizes() != bias.sizes() || !torch::equal(t.to(torch::kFloat), bias)) {
        fail(weights_path, "tensor '" + orig + "' differs from '" + original["cls.predictions.bias"] +
                               "', which it is tied to");
      }
      ignored["decoder bias, tied to cls.predictions.bias"].push_back(orig);
    } else if (starts_with(name, "discriminator_predictions.")) {
      ignored["replaced-token detection head, unused"].push_back(orig);
    } else if (!mlm && (starts_with(name, "cls.") || starts_with(name, "lm_head.") || starts_with(name, "vocab_"))) {
      ignored["masked-LM head, unused by " + arch].push_back(orig);
    } else if (ck.architecture != HfBertArchitecture::kSequenceClassification &&
               (starts_with(name, "classifier.") || starts_with(name, "pre_classifier."))) {
      ignored["classifier head, unused by " + arch].push_back(orig);
    } else {
      unexpected.push_back(orig);
    }
  }
  if (!unexpected.empty()) {
    fail(weights_path, (unexpected.size() == 1 ? "tensor " : "tensors ") + quoted_names(unexpected) +
                           " not part of a Hugging Face " + arch);
  }
  for (const auto& [reason, names] : ignored) {
    ck.notes.push_back(weights_path + ": ignoring " + quoted_names(names, 3) + " (" + reason + ")");
  }
  return ck;
}

void write_hf_bert(const std::string& dir, HfBertArchitecture architecture, const BertOptions& options,
                   const formats::NamedTensors& tensors, const nlohmann::json& extra) {
  if (options.pre_layer_norm()) {
    fail(dir, "pre-LN BERT (model.pre_layer_norm: true) has no Hugging Face BertConfig equivalent, so it "
              "cannot be exported");
  }
  const std::string type = options.model_type();
  nlohmann::json config = bert_options_to_hf_json(options);
  config.erase("pre_layer_norm");
  config.erase("add_pooling_layer");
  config["architectures"] = {hf_architecture_name(architecture, type)};
  config["tie_word_embeddings"] = true;
  nlohmann::json more = extra;
  if (type == "distilbert" && more.contains("classifier_dropout")) {  // DistilBertConfig's name for it
    more["seq_classif_dropout"] = more["classifier_dropout"];
    more.erase("classifier_dropout");
  }
  config.update(more);
  formats::NamedTensors out;
  for (const auto& [name, t] : tensors) out.emplace_back(hf_saved_name(type, architecture, name), t);
  write_hf_folder(dir, config, out);
}

formats::SafetensorsFile strip_prefix(const formats::SafetensorsFile& file, const std::string& prefix) {
  formats::SafetensorsFile out;
  for (const auto& name : file.names) {
    if (!starts_with(name, prefix)) continue;
    out.names.push_back(name.substr(prefix.size()));
    out.tensors[out.names.back()] = file.tensors.at(name);
  }
  return out;
}

}  // namespace attune::models
