// init=hf:DIR for masked-LM pretraining: a transformers *ForMaskedLM folder of any family
// attune imports (the BERT body's model types, ModernBERT, DeBERTa-v2/v3), read through
// the same bridge as classification's init (tasks/classification/hf_bundle.h), so that
// pretraining continues from its tokenizer, config and weights, head included.
#pragma once
#include "data/formats/safetensors.h"
#include "data/text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

namespace attune::pretraining {

struct MlmInit {
  nlohmann::json model_section;  // the run config's "model": models::make_masked_lm rebuilds the model
  std::unique_ptr<text::Tokenizer> tokenizer;
  formats::SafetensorsFile weights;  // the masked LM's tensors under attune's names
  int64_t max_length = 0;            // the longest input the folder's model and tokenizer take
  std::string architecture;          // transformers' class ("RobertaForMaskedLM")
};

// source: "hf:DIR". A folder without a masked-LM head (a base model, a classifier, an
// ELECTRA discriminator) fails naming the folder and what it holds; notes go to log.
MlmInit load_mlm_init(const std::string& source, std::ostream& log);

}  // namespace attune::pretraining
