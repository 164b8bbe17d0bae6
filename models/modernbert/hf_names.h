// transformers' tensor names of ModernBertForSequenceClassification and ModernBertForMaskedLM
// ("model.*" encoder, "head.*" beside it, "classifier.*", "decoder.*") and attune's, where
// the head lives inside the encoder and the encoder sits under `encoder_prefix`
// ("modernbert." in a classification run and the masked LM, "" bare).
#pragma once
#include <string>

namespace attune::models {

std::string modernbert_name_from_hf(const std::string& hf_name, const std::string& encoder_prefix);
std::string modernbert_name_to_hf(const std::string& name, const std::string& encoder_prefix);

}  // namespace attune::models
