#include "models/modernbert/hf_checkpoint.h"

#include "core/error.h"
#include "core/strings.h"
#include "core/files.h"
#include "models/common/hf_architecture.h"
#include "models/common/hf_folder.h"
#include "models/common/hf_labels.h"
#include "models/common/hf_tensors.h"
#include "models/modernbert/hf_names.h"
#include "models/modernbert/masked_lm.h"
#include "models/modernbert/modernbert.h"

namespace attune::models {
namespace {

HfBertArchitecture architecture_of(const nlohmann::json& config, const formats::SafetensorsFile& file,
                                   const std::string& config_path) {
  if (const auto named = architecture_from_config(config, modernbert_class_name, config_path)) return *named;
  for (const auto& name : file.names) {
    if (starts_with(name, "classifier.")) return HfBertArchitecture::kSequenceClassification;
    if (starts_with(name, "decoder.")) return HfBertArchitecture::kMaskedLM;
  }
  return HfBertArchitecture::kBertModel;
}

// The tensors attune's module for the architecture holds, in its order.
TensorShapes expected_tensors(HfBertArchitecture architecture, const ModernBertOptions& options, int64_t labels) {
  TensorShapes shapes;
  if (architecture == HfBertArchitecture::kMaskedLM) {
    append_parameter_shapes(shapes, *ModernBertForMaskedLM(options));
    return shapes;
  }
  append_parameter_shapes(shapes, *ModernBertModel(options), modernbert_encoder_prefix(architecture));
  if (architecture == HfBertArchitecture::kSequenceClassification) {
    shapes.emplace_back("classifier.weight", std::vector<int64_t>{labels, options.hidden_size()});
    shapes.emplace_back("classifier.bias", std::vector<int64_t>{labels});
  }
  return shapes;
}

}  // namespace

std::string modernbert_class_name(HfBertArchitecture architecture) {
  switch (architecture) {
    case HfBertArchitecture::kBertModel: return "ModernBertModel";
    case HfBertArchitecture::kSequenceClassification: return "ModernBertForSequenceClassification";
    case HfBertArchitecture::kMaskedLM: return "ModernBertForMaskedLM";
  }
  return "";
}

std::string modernbert_encoder_prefix(HfBertArchitecture architecture) {
  switch (architecture) {
    case HfBertArchitecture::kBertModel: return "";
    case HfBertArchitecture::kSequenceClassification:
    case HfBertArchitecture::kMaskedLM: return "modernbert.";
  }
  return "";
}

HfModernBertCheckpoint read_hf_modernbert(const std::string& dir) {
  const HfFolderFiles files = hf_folder_files(dir, "ModernBERT checkpoint");
  HfModernBertCheckpoint ck;
  ck.config = io::read_json(files.config);
  if (ck.config.value("model_type", std::string()) != "modernbert") {
    fail(files.config + ": model_type", "expected \"modernbert\", got " + ck.config.value("model_type", nlohmann::json()).dump());
  }
  try {
    ck.options = modernbert_options_from_hf_json(ck.config, "config.json");
  } catch (const UserError& e) {
    fail(dir, e.what());
  }
  const formats::SafetensorsFile file = formats::load_safetensors(files.weights);
  ck.architecture = architecture_of(ck.config, file, files.config);
  const std::string prefix = modernbert_encoder_prefix(ck.architecture);
  const HfTensorMatch found = match_hf_names(
      file,
      [&](const std::string& name) {
        // A bare ModernBertModel file has no "model." prefix; tolerate one.
        const bool bare = ck.architecture == HfBertArchitecture::kBertModel && starts_with(name, "model.");
        return modernbert_name_from_hf(bare ? name.substr(6) : name, prefix);
      },
      files.weights);
  int64_t labels = 0;
  if (ck.architecture == HfBertArchitecture::kSequenceClassification) {
    check_single_label_problem(ck.config, files.config);
    const auto rows = found.tensors.find("classifier.weight");
    ck.labels = read_classifier_labels(ck.config, rows == found.tensors.end() ? 0 : rows->second.size(0), files.config);
    labels = static_cast<int64_t>(ck.labels.size());
    ck.classifier_dropout = ck.options.classifier_dropout();
  }
  ck.options.add_head(ck.architecture != HfBertArchitecture::kBertModel || found.tensors.count("head.dense.weight"));
  const std::string architecture = modernbert_class_name(ck.architecture);
  const std::string embeddings = prefix + "embeddings.tok_embeddings.weight";
  ck.tensors = take_hf_tensors(
      found, expected_tensors(ck.architecture, ck.options, labels), files.weights, architecture,
      [&](const std::string& name) { return modernbert_name_to_hf(name, prefix); },
      [&](const std::string& name) -> std::string {
        if (name == "decoder.weight" && ck.architecture == HfBertArchitecture::kMaskedLM) {
          const torch::Tensor& tied = found.tensors.at(embeddings);
          const torch::Tensor& t = found.tensors.at(name);
          if (t.sizes() != tied.sizes() || !torch::equal(t.to(torch::kFloat), tied.to(torch::kFloat))) {
            fail(files.weights, "tensor 'decoder.weight' differs from the token embeddings: untied decoders are not "
                                "supported (ModernBertForMaskedLM ties them)");
          }
          return "decoder weight, tied to the token embeddings";
        }
        if (ck.architecture != HfBertArchitecture::kMaskedLM && starts_with(name, "decoder.")) {
          return "masked-LM decoder, unused by " + architecture;
        }
        if (ck.architecture != HfBertArchitecture::kSequenceClassification && starts_with(name, "classifier.")) {
          return "classifier, unused by " + architecture;
        }
        return "";
      },
      ck.notes);
  return ck;
}

void write_hf_modernbert(const std::string& dir, HfBertArchitecture architecture, const ModernBertOptions& options,
                         const formats::NamedTensors& tensors, const nlohmann::json& extra) {
  nlohmann::json config = modernbert_options_to_hf_json(options);
  config["architectures"] = {modernbert_class_name(architecture)};
  config.update(extra);
  const std::string prefix = modernbert_encoder_prefix(architecture);
  formats::NamedTensors out;
  for (const auto& [name, t] : tensors) {
    // A base model's head has no place in ModernBertModel.
    if (architecture == HfBertArchitecture::kBertModel && starts_with(name, "head.")) continue;
    out.emplace_back(modernbert_name_to_hf(name, prefix), t);
  }
  write_hf_folder(dir, config, out);
}

}  // namespace attune::models
