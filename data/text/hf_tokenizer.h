// Hugging Face BertTokenizer files (vocab.txt, tokenizer_config.json,
// special_tokens_map.json) to and from attune's WordPiece tokenizer, which implements
// the same basic tokenization and greedy subword split; and attune's SentencePiece
// tokenizer written as DebertaV2Tokenizer's spm.model.
#pragma once
#include "data/text/sentencepiece.h"
#include "data/text/wordpiece.h"

#include <nlohmann/json.hpp>

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

// A tokenizer_config.json boolean: fallback when absent or null; anything but true or false
// fails naming path and key.
bool hf_bool(const nlohmann::json& j, const char* key, bool fallback, const std::string& path);

// tokenizer_config.json's model_max_length, 0 when unset (transformers then writes int(1e30)).
int64_t hf_model_max_length(const nlohmann::json& tokenizer_config);

// Writes dir/spm.model and DebertaV2Tokenizer's tokenizer_config.json, for runs whose
// tokenizer is attune's SentencePiece one (runs that read an spm.model folder before it was
// read as transformers 5 reads it, spm_folder_tokenizer.h).
void save_hf_deberta_spm_tokenizer(const SentencePieceTokenizer& tokenizer, const std::string& dir,
                                   int64_t model_max_length);

// The WordPiece tokenizer as the tokenizer.json transformers' BertTokenizer saves:
// BertNormalizer, BertPreTokenizer, WordPiece, [CLS] A [SEP] (B [SEP]).
nlohmann::json wordpiece_tokenizer_json(const WordPieceTokenizer& tokenizer);

// Writes vocab.txt, tokenizer.json (wordpiece_tokenizer_json), tokenizer_config.json and
// special_tokens_map.json into dir.
void save_hf_bert_tokenizer(const WordPieceTokenizer& tokenizer, const std::string& dir, int64_t model_max_length);

}  // namespace attune::text
