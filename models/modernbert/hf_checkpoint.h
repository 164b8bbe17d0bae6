// Hugging Face ModernBERT checkpoints (config.json + model.safetensors: ModernBertModel,
// ModernBertForSequenceClassification, ModernBertForMaskedLM) to and from the tensor
// names of attune's modules: the bare encoder (with "head.*" inside when it has the
// head), a classification run ("modernbert.*", "classifier.*"), the masked LM
// ("modernbert.*", "decoder.bias"). Tokenizer files are data/text's job.
#pragma once
#include "data/formats/safetensors.h"
#include "models/common/hf_architecture.h"
#include "models/modernbert/options.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::models {

// "ModernBertModel", "ModernBertForSequenceClassification", "ModernBertForMaskedLM".
std::string modernbert_class_name(HfBertArchitecture architecture);
// Where attune's module for `architecture` keeps the encoder: "" (bare) or "modernbert.".
std::string modernbert_encoder_prefix(HfBertArchitecture architecture);

struct HfModernBertCheckpoint {
  HfBertArchitecture architecture = HfBertArchitecture::kBertModel;
  ModernBertOptions options;  // add_head: whether the module holds the prediction head
  nlohmann::json config;      // config.json as read
  formats::SafetensorsFile tensors;  // float32, attune's names for the architecture's module
  std::vector<std::string> labels;   // sequence classification only
  double classifier_dropout = 0.0;
  std::vector<std::string> notes;    // tensors left out on purpose, one line each
};

// Reads dir/config.json and dir/model.safetensors. The architecture comes from
// "architectures", else from the tensor names. A tied decoder weight equal to the
// embeddings is left out with a note; anything else unexpected or missing fails naming
// the file and the tensor.
HfModernBertCheckpoint read_hf_modernbert(const std::string& dir);

// Writes dir/config.json and dir/model.safetensors for `architecture`. tensors: attune's
// names for that architecture's module; extra: keys added to config.json (labels, ...).
void write_hf_modernbert(const std::string& dir, HfBertArchitecture architecture, const ModernBertOptions& options,
                         const formats::NamedTensors& tensors, const nlohmann::json& extra = nlohmann::json::object());

}  // namespace attune::models
