// Tensor names and class names of the Hugging Face architectures attune's BERT body stands
// for. attune names every checkpoint the BERT way ("bert.*", "classifier.*",
// "cls.predictions.*"); these map them to RoBERTa's ("roberta.*", classifier.dense /
// out_proj, lm_head.*), DistilBERT's ("distilbert.transformer.layer.N.attention.q_lin",
// pre_classifier, vocab_*) and ELECTRA's ("electra.*", embeddings_project, classifier.*).
#pragma once
#include "models/common/hf_architecture.h"

#include <string>

namespace attune::models {

// The transformers class: "RobertaForSequenceClassification", "DistilBertModel", ...
std::string hf_class_name(const std::string& model_type, HfBertArchitecture architecture);
// The base model's attribute in the heads ("bert", "roberta", "distilbert", "electra").
std::string hf_base_prefix(const std::string& model_type);

// attune name -> the name transformers uses; names without a counterpart come back unchanged.
std::string to_hf_name(const std::string& model_type, HfBertArchitecture architecture, const std::string& name);
// HF name (with the base prefix) -> attune's; unknown names come back unchanged.
std::string from_hf_name(const std::string& model_type, HfBertArchitecture architecture, const std::string& name);

// The name save_pretrained gives attune's tensor `name` in a file of `architecture`: as
// to_hf_name, and a base model's without its prefix ("embeddings.*"); a bare encoder's
// name (no "bert.") is taken as the encoder's.
std::string hf_saved_name(const std::string& model_type, HfBertArchitecture architecture, const std::string& name);

// A module path inside attune's encoder ("encoder.layer.0.attention.self.query") as the HF
// base model names it ("transformer.layer.0.attention.q_lin" for DistilBERT), so PEFT
// target_modules written for transformers match.
std::string hf_module_path(const std::string& model_type, const std::string& path);

}  // namespace attune::models
