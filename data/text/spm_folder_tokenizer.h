// Model folders that ship only a SentencePiece model and no tokenizer.json: XLM-R's and
// CamemBERT's sentencepiece.bpe.model, DeBERTa-v2/v3's spm.model. transformers 5 does not
// run sentencepiece for them: it builds a tokenizers pipeline from the model's pieces (its
// XLMRobertaTokenizer and CamembertTokenizer classes: fairseq's id layout, the model's
// charsmap as normaliser, whitespace split and Metaspace; DebertaV2Tokenizer: the pieces as
// they are, its own normaliser, Metaspace). These build the same pipelines, as the
// tokenizer.json transformers saves for such a folder.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace attune::text {

// The tokenizer class a folder's sentencepiece.bpe.model is read as: tokenizer_config.json's
// tokenizer_class, else config.json's model_type (xlm-roberta, camembert); "" for neither.
std::string spm_folder_tokenizer_class(const std::string& dir);

// tokenizer.json for dir/sentencepiece.bpe.model read as tokenizer_class
// ("XLMRobertaTokenizer", "CamembertTokenizer"). Fails naming the folder for another class
// and naming tokenizer_config.json's key for settings attune does not follow.
nlohmann::json spm_folder_tokenizer_json(const std::string& dir, const std::string& tokenizer_class);

// tokenizer.json for dir/spm.model read as DebertaV2Tokenizer, with tokenizer_config.json's
// do_lower_case, split_by_punct, add_prefix_space and special tokens; [MASK] (which
// deberta-v3's model lacks) follows the pieces.
nlohmann::json deberta_spm_tokenizer_json(const std::string& dir);

}  // namespace attune::text
