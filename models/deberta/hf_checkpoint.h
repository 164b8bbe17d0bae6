// Hugging Face DeBERTa-v2/v3 checkpoints (config.json + model.safetensors: DebertaV2Model,
// DebertaV2ForSequenceClassification, DebertaV2ForMaskedLM) to and from the tensor names of
// attune's modules: the bare encoder, a classification run ("deberta.*" with the
// ContextPooler inside as "deberta.pooler.*", "classifier.*"), the masked LM (transformers'
// names). Tokenizer files are data/text's job.
#pragma once
#include "data/formats/safetensors.h"
#include "models/common/hf_architecture.h"
#include "models/deberta/options.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::models {

// "DebertaV2Model", "DebertaV2ForSequenceClassification", "DebertaV2ForMaskedLM".
std::string deberta_class_name(HfBertArchitecture architecture);
// transformers' name of attune's tensor in a file of `architecture`, and back.
std::string deberta_name_to_hf(const std::string& name, HfBertArchitecture architecture);
std::string deberta_name_from_hf(const std::string& hf_name, HfBertArchitecture architecture);

struct HfDebertaCheckpoint {
  HfBertArchitecture architecture = HfBertArchitecture::kBertModel;
  DebertaV2Options options;  // add_pooling_layer: whether the encoder holds the ContextPooler
  nlohmann::json config;
  formats::SafetensorsFile tensors;  // float32, attune's names for the architecture's module
  std::vector<std::string> labels;   // sequence classification only
  double classifier_dropout = 0.1;   // cls_dropout, else hidden_dropout_prob
  std::vector<std::string> notes;
};

// Reads dir/config.json and dir/model.safetensors; the architecture from "architectures",
// else from the tensor names. Tied decoder copies and unused heads are left out with a
// note; anything else unexpected or missing fails naming the file and the tensor.
HfDebertaCheckpoint read_hf_deberta(const std::string& dir);

void write_hf_deberta(const std::string& dir, HfBertArchitecture architecture, const DebertaV2Options& options,
                      const formats::NamedTensors& tensors, const nlohmann::json& extra = nlohmann::json::object());

}  // namespace attune::models
