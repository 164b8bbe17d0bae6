// `attune convert`: Hugging Face BERT checkpoint folders to attune directories and back.
#pragma once
#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace attune::hf {

// Writes out_dir (which must not exist or be empty) from a transformers checkpoint folder:
// BertForSequenceClassification becomes a classification run that eval and predict use
// (head.pooling "cls", labels from id2label); BertModel and BertForMaskedLM become an
// encoder directory for the "init" key (config.json with "architecture" and "model",
// tokenizer/, model.safetensors). Returns a summary; notes go to `log`.
nlohmann::json import_hf(const std::string& hf_dir, const std::string& out_dir, std::ostream& log);

// Writes a transformers checkpoint folder (config.json, model.safetensors, vocab.txt,
// tokenizer_config.json, special_tokens_map.json) from an attune classification run
// (BertForSequenceClassification) or encoder directory (BertForMaskedLM when it holds
// cls.predictions.*, else BertModel). encoder_only exports just the encoder as BertModel.
// Fails for what transformers' BERT cannot express: pre-LN models, SentencePiece
// tokenizers, mean-pooling classifiers (unless encoder_only), PEFT runs not yet merged.
nlohmann::json export_hf(const std::string& run_dir, const std::string& out_dir, bool encoder_only, std::ostream& log);

}  // namespace attune::hf
