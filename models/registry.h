// Maps the model names used in run configs ("model.name") to constructors.
#pragma once
#include "models/masked_lm.h"
#include "models/text_encoder.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace attune::models {

// Builds an encoder from its config section; key names that section in error messages.
using TextEncoderFactory = std::function<std::shared_ptr<TextEncoderImpl>(
    const nlohmann::json& model_cfg, int64_t vocab_size, const std::string& key)>;

// Registering an existing name replaces its factory.
void register_text_encoder(const std::string& name, TextEncoderFactory factory);

// Unknown name -> fail(key + ".name", "unknown model 'x' (known: bert)").
std::shared_ptr<TextEncoderImpl> make_text_encoder(const nlohmann::json& model_cfg, int64_t vocab_size,
                                                   const std::string& key = "model");

// Checks a model section without building the model (cheap; run before slow work
// such as tokenizer training). Same errors as make_text_encoder.
void check_text_encoder_config(const nlohmann::json& model_cfg, const std::string& key = "model");

// Sorted.
std::vector<std::string> text_encoder_names();

// The masked LM of the family model_cfg names (bert, modernbert, deberta), random weights
// as transformers initialises its head. Another name fails naming key + ".name".
std::shared_ptr<MaskedLanguageModelImpl> make_masked_lm(const nlohmann::json& model_cfg, int64_t vocab_size,
                                                        const std::string& key = "model");

}  // namespace attune::models
