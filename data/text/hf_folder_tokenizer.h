// The tokenizer of a Hugging Face model folder, whichever files it ships: BertTokenizer's
// vocab.txt, a fast tokenizer's tokenizer.json, or DebertaV2Tokenizer's spm.model or
// XLM-R's and CamemBERT's sentencepiece.bpe.model alone.
#pragma once
#include "data/text/tokenizer.h"

#include <memory>
#include <string>

namespace attune::text {

struct HfFolderTokenizer {
  std::unique_ptr<Tokenizer> tokenizer;
  int64_t model_max_length = 0;  // 0: not set
  std::string source;            // the file it came from, for messages
};

// vocab.txt where the folder has one (with tokenizer_config.json's BertTokenizer settings),
// else tokenizer.json, else DeBERTa's spm.model or XLM-R's and CamemBERT's
// sentencepiece.bpe.model (built into the tokenizer.json transformers 5 makes of it:
// spm_folder_tokenizer.h). Fails naming the folder when it has none of them.
HfFolderTokenizer load_hf_folder_tokenizer(const std::string& dir);

}  // namespace attune::text
