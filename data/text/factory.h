// Builds the tokenizer a run config's "tokenizer" section asks for: loads a given
// vocabulary or model, or trains one on the training texts.
#pragma once
#include "data/text/tokenizer.h"
#include "data/text/tokenizer_config.h"

#include <memory>
#include <string>
#include <vector>

namespace attune::text {

// Training a SentencePiece model writes into work_dir.
std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerConfig& config, const std::vector<std::string>& training_texts,
                                          const std::string& work_dir);

}  // namespace attune::text
