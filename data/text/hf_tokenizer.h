// Hugging Face BertTokenizer files (vocab.txt, tokenizer_config.json,
// special_tokens_map.json) to and from attune's WordPiece tokenizer, which implements
// the same basic tokenization and greedy subword split; and DebertaV2Tokenizer folders
// that ship only spm.model, read into attune's SentencePiece tokenizer.
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

// tokenizer_config.json's model_max_length, 0 when unset (transformers then writes int(1e30)).
int64_t hf_model_max_length(const nlohmann::json& tokenizer_config);

struct HfSpmTokenizer {
  std::unique_ptr<SentencePieceTokenizer> tokenizer;
  int64_t model_max_length = 0;
};

// dir/spm.model as DebertaV2Tokenizer uses it (microsoft/deberta-v3-*): [CLS] a [SEP]
// (b [SEP]) around sentencepiece's own ids, and [MASK] after the pieces (id piece count)
// when the model has no such piece, as DebertaV2Tokenizer adds it. transformers 5 instead builds a tokenizers
// pipeline with its own normalizer from the pieces and differs on a few lines in 200
// (docs/hf-parity.md); the tokenizer.json it saves is read exactly.
// tokenizer_config.json settings attune does not follow (do_lower_case or split_by_punct
// true, other special tokens) fail naming the file and key.
HfSpmTokenizer load_hf_deberta_spm_tokenizer(const std::string& dir);

// Writes dir/spm.model and DebertaV2Tokenizer's tokenizer_config.json, which
// load_hf_deberta_spm_tokenizer and transformers read back.
void save_hf_deberta_spm_tokenizer(const SentencePieceTokenizer& tokenizer, const std::string& dir,
                                   int64_t model_max_length);

// Writes vocab.txt, tokenizer_config.json and special_tokens_map.json into dir (which
// must not hold attune's own tokenizer.json: transformers would read it as its own).
void save_hf_bert_tokenizer(const WordPieceTokenizer& tokenizer, const std::string& dir, int64_t model_max_length);

}  // namespace attune::text
