// The "init" key of translation: "hf:DIR", an OPUS-MT folder (transformers' MarianMTModel
// and MarianTokenizer, save_pretrained's files) to fine-tune from.
#pragma once
#include "data/text/marian_tokenizer.h"
#include "models/seq2seq/hf_marian.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <ostream>
#include <string>

namespace attune::translation {

struct MarianInit {
  models::MarianCheckpoint checkpoint;
  std::shared_ptr<text::MarianTokenizer> tokenizer;
};

// Reads the folder and writes what it fixes into the run config: the model section (every
// size and switch; the dropout rates stay the user's where set). The tokenizer's vocabulary,
// pad and EOS must be the model's; fails naming the file and key.
MarianInit apply_init(nlohmann::json& config, const std::string& source, std::ostream& log);

}  // namespace attune::translation
