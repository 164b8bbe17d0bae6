// Hugging Face BERT-family checkpoints (config.json + model.safetensors: BERT, RoBERTa,
// XLM-RoBERTa, CamemBERT, DistilBERT, ELECTRA discriminators) to and from the tensor names
// attune's BERT modules use, which are BERT's own: "bert.*" for the encoder,
// "classifier.*" for the classifier, "cls.predictions.*" for the masked LM; hf_names.h
// renames them for the other architectures. Tokenizer files are data/text/hf_tokenizer.h's job.
#pragma once
#include "data/formats/safetensors.h"
#include "models/bert/hf_names.h"
#include "models/bert/options.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::models {

// "BertModel", "BertForSequenceClassification", "BertForMaskedLM"; for another model_type
// its class ("RobertaForMaskedLM", "DistilBertModel", ...).
std::string hf_architecture_name(HfBertArchitecture architecture, const std::string& model_type = "bert");

struct HfBertCheckpoint {
  HfBertArchitecture architecture = HfBertArchitecture::kBertModel;
  // add_pooling_layer: whether the encoder has (and the file holds) a pooler.
  BertOptions options;
  nlohmann::json config;  // config.json as read
  // Every tensor the architecture needs, float32, under attune's names: "bert."-prefixed
  // encoder tensors, then the head's ("classifier.*" or "cls.predictions.*").
  formats::SafetensorsFile tensors;
  std::vector<std::string> labels;  // id2label in id order; BertForSequenceClassification only
  double classifier_dropout = 0.1;  // classifier_dropout, else hidden_dropout_prob
  std::vector<std::string> notes;   // tensors left out on purpose, one line each, for stderr
};

// Reads dir/config.json and dir/model.safetensors. The family comes from "model_type"
// (options.model_type), the architecture from "architectures" (BertForPreTraining is read
// as BertForMaskedLM), else from the tensor names. Keys may lack the "bert." prefix and use the legacy LayerNorm
// names gamma/beta. Unused heads (next-sentence prediction, a pooler that BertForMaskedLM
// lacks, the decoder weight when it equals the tied embeddings) are left out with a note.
// Everything else fails as one line naming the file and key: missing or unexpected
// tensors, wrong shapes, unsupported config values, a pytorch_model.bin without safetensors.
HfBertCheckpoint read_hf_bert(const std::string& dir);

// Writes dir/config.json and dir/model.safetensors for transformers' `architecture` of
// options.model_type. tensors: attune's names (as read_hf_bert returns them; a bare
// encoder's may lack "bert."), renamed to that architecture's; the tied decoder is left
// out, as save_pretrained leaves it out. extra: keys added to config.json
// (id2label, label2id, problem_type, ...). Pre-LN options cannot be expressed in HF's
// BertConfig: they fail.
void write_hf_bert(const std::string& dir, HfBertArchitecture architecture, const BertOptions& options,
                   const formats::NamedTensors& tensors, const nlohmann::json& extra = nlohmann::json::object());

// The tensors of `file` under `prefix` ("bert."), renamed without it.
formats::SafetensorsFile strip_prefix(const formats::SafetensorsFile& file, const std::string& prefix);

}  // namespace attune::models
