// Hugging Face BertTokenizer files (vocab.txt, tokenizer_config.json,
// special_tokens_map.json) to and from attune's WordPiece tokenizer, which implements
// the same basic tokenization and greedy subword split.
#pragma once
#include "data/text/wordpiece.h"

#include <memory>
#include <string>

namespace attune::text {

struct HfBertTokenizer {
  std::unique_ptr<WordPieceTokenizer> tokenizer;
  int64_t model_max_length = 0;  // 0: not set (transformers writes a huge number then)
};

// Reads dir/vocab.txt and, when present, dir/tokenizer_config.json (do_lower_case,
// strip_accents, tokenize_chinese_chars, model_max_length; BertTokenizer's defaults
// otherwise). Settings attune's WordPiece cannot follow fail naming the file and key:
// another tokenizer class, do_basic_tokenize false, special tokens other than
// [PAD] [UNK] [CLS] [SEP] [MASK].
HfBertTokenizer load_hf_bert_tokenizer(const std::string& dir);

// Writes vocab.txt, tokenizer_config.json and special_tokens_map.json into dir (which
// must not hold attune's own tokenizer.json: transformers would read it as its own).
void save_hf_bert_tokenizer(const WordPieceTokenizer& tokenizer, const std::string& dir, int64_t model_max_length);

}  // namespace attune::text
