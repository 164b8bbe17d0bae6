#include "models/deberta/hf_checkpoint.h"

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "models/common/hf_folder.h"
#include "models/common/hf_labels.h"
#include "models/common/hf_tensors.h"
#include "models/deberta/deberta.h"
#include "models/deberta/masked_lm.h"

namespace attune::models {
namespace {

using Arch = HfBertArchitecture;

Arch deberta_architecture_of(const nlohmann::json& config, const formats::SafetensorsFile& file,
                             const std::string& config_path) {
  if (const auto named = architecture_from_config(config, deberta_class_name, config_path)) return *named;
  for (const auto& name : file.names) {
    if (starts_with(name, "classifier.")) return Arch::kSequenceClassification;
    if (starts_with(name, "cls.") || starts_with(name, "lm_predictions.")) return Arch::kMaskedLM;
  }
  return Arch::kBertModel;
}

TensorShapes deberta_expected_tensors(Arch architecture, DebertaV2Options options, int64_t labels) {
  TensorShapes shapes;
  if (architecture == Arch::kMaskedLM) {
    append_parameter_shapes(shapes, *DebertaV2ForMaskedLM(options));
  } else if (architecture == Arch::kBertModel) {
    append_parameter_shapes(shapes, *DebertaV2Model(options));
  } else {
    append_parameter_shapes(shapes, *DebertaV2Model(options.add_pooling_layer(true)), "deberta.");
    shapes.emplace_back("classifier.weight", std::vector<int64_t>{labels, options.hidden_size()});
    shapes.emplace_back("classifier.bias", std::vector<int64_t>{labels});
  }
  return shapes;
}

}  // namespace

std::string deberta_class_name(Arch architecture) {
  switch (architecture) {
    case Arch::kBertModel: return "DebertaV2Model";
    case Arch::kSequenceClassification: return "DebertaV2ForSequenceClassification";
    case Arch::kMaskedLM: return "DebertaV2ForMaskedLM";
  }
  return "";
}

std::string deberta_name_to_hf(const std::string& name, Arch architecture) {
  // The ContextPooler sits beside "deberta" in DebertaV2ForSequenceClassification.
  if (architecture == Arch::kSequenceClassification && starts_with(name, "deberta.pooler.")) return name.substr(8);
  return name;
}

std::string deberta_name_from_hf(const std::string& hf_name, Arch architecture) {
  if (architecture == Arch::kSequenceClassification && starts_with(hf_name, "pooler.")) return "deberta." + hf_name;
  // A bare DebertaV2Model file may carry the "deberta." prefix.
  if (architecture == Arch::kBertModel && starts_with(hf_name, "deberta.")) return hf_name.substr(8);
  return hf_name;
}

HfDebertaCheckpoint read_hf_deberta(const std::string& dir) {
  const HfFolderFiles files = hf_folder_files(dir, "DeBERTa checkpoint");
  HfDebertaCheckpoint ck;
  ck.config = io::read_json(files.config);
  try {
    ck.options = deberta_options_from_hf_json(ck.config, "config.json");
  } catch (const UserError& e) {
    fail(dir, e.what());
  }
  const formats::SafetensorsFile file = formats::load_safetensors(files.weights);
  ck.architecture = deberta_architecture_of(ck.config, file, files.config);
  const HfTensorMatch found = match_hf_names(
      file, [&](const std::string& name) { return deberta_name_from_hf(name, ck.architecture); }, files.weights);
  int64_t labels = 0;
  if (ck.architecture == Arch::kSequenceClassification) {
    check_single_label_problem(ck.config, files.config);
    const auto rows = found.tensors.find("classifier.weight");
    ck.labels = read_classifier_labels(ck.config, rows == found.tensors.end() ? 0 : rows->second.size(0), files.config);
    labels = static_cast<int64_t>(ck.labels.size());
    const auto drop = ck.config.find("cls_dropout");
    ck.classifier_dropout = drop != ck.config.end() && drop->is_number() ? drop->get<double>()
                                                                        : ck.options.hidden_dropout_prob();
  }
  ck.options.add_pooling_layer(ck.architecture == Arch::kSequenceClassification);
  const std::string architecture = deberta_class_name(ck.architecture);
  const bool mlm = ck.architecture == Arch::kMaskedLM;
  ck.tensors = take_hf_tensors(
      found, deberta_expected_tensors(ck.architecture, ck.options, labels), files.weights, architecture,
      [&](const std::string& name) { return deberta_name_to_hf(name, ck.architecture); },
      [&](const std::string& name) -> std::string {
        if (ends_with(name, "position_ids")) return "constant buffer, recomputed";
        if (mlm && name == "cls.predictions.decoder.weight") {
          const torch::Tensor& tied = found.tensors.at("deberta.embeddings.word_embeddings.weight");
          const torch::Tensor& t = found.tensors.at(name);
          if (t.sizes() != tied.sizes() || !torch::equal(t.to(torch::kFloat), tied.to(torch::kFloat))) {
            fail(files.weights, "tensor '" + name + "' differs from the word embeddings: untied decoders are not "
                                "supported (DebertaV2ForMaskedLM ties them)");
          }
          return "decoder weight, tied to the word embeddings";
        }
        if (mlm && name == "cls.predictions.decoder.bias") return "decoder bias, tied to cls.predictions.bias";
        if (!mlm && (starts_with(name, "cls.") || starts_with(name, "lm_predictions."))) {
          return "masked-LM head, unused by " + architecture;
        }
        if (ck.architecture != Arch::kSequenceClassification &&
            (starts_with(name, "classifier.") || starts_with(name, "pooler.") || starts_with(name, "deberta.pooler."))) {
          return "classifier head, unused by " + architecture;
        }
        return "";
      },
      ck.notes);
  return ck;
}

void write_hf_deberta(const std::string& dir, Arch architecture, const DebertaV2Options& options,
                      const formats::NamedTensors& tensors, const nlohmann::json& extra) {
  nlohmann::json config = deberta_options_to_hf_json(options);
  config.erase("add_pooling_layer");  // attune's switch, not a DebertaV2Config key
  config["architectures"] = {deberta_class_name(architecture)};
  config.update(extra);
  formats::NamedTensors out;
  for (const auto& [name, t] : tensors) {
    // DebertaV2Model has no pooler: a bare encoder's ContextPooler stays behind.
    if (architecture == Arch::kBertModel && starts_with(name, "pooler.")) continue;
    out.emplace_back(deberta_name_to_hf(name, architecture), t);
  }
  write_hf_folder(dir, config, out);
}

}  // namespace attune::models
