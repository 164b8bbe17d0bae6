// Builds the tokenizer a run config's "tokenizer" section asks for: loads a given
// vocabulary or model, or trains one on the training texts.
#pragma once
#include "data/text/tokenizer.h"

#include <nlohmann/json.hpp>

namespace attune::text {

// key names the section in errors ("tokenizer"). Training a SentencePiece model
// writes into work_dir.
std::unique_ptr<Tokenizer> make_tokenizer(const nlohmann::json& cfg, const std::vector<std::string>& training_texts,
                                          const std::string& key, const std::string& work_dir);

}  // namespace attune::text
