#include "data/text/hf_folder_tokenizer.h"

#include "core/error.h"
#include "core/files.h"
#include "data/text/hf_tokenizer.h"
#include "data/text/hf_tokenizer_json/hf_json_tokenizer.h"
#include "data/text/spm_folder_tokenizer.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::text {

namespace {

// tokenizer_config.json's model_max_length, 0 when the folder has none.
int64_t settings_max_length(const fs::path& root) {
  const fs::path settings = root / "tokenizer_config.json";
  if (!fs::exists(settings)) return 0;
  const nlohmann::json j = io::read_json(settings.string());
  return j.is_object() ? hf_model_max_length(j) : 0;
}

}  // namespace

HfFolderTokenizer load_hf_folder_tokenizer(const std::string& dir) {
  const fs::path root(dir);
  HfFolderTokenizer out;
  const bool vocab = fs::exists(root / "vocab.txt"), json = fs::exists(root / "tokenizer.json");
  const bool deberta_spm = fs::exists(root / "spm.model");
  if (!vocab && !json && (deberta_spm || fs::exists(root / "sentencepiece.bpe.model"))) {
    // As transformers 5 reads them: a tokenizers pipeline built from the model's pieces.
    out.source = deberta_spm ? "spm.model" : "sentencepiece.bpe.model";
    const nlohmann::json built =
        deberta_spm ? deberta_spm_tokenizer_json(dir) : spm_folder_tokenizer_json(dir, spm_folder_tokenizer_class(dir));
    out.tokenizer = HfJsonTokenizer::from_json_text(built.dump(), (root / out.source).string());
    out.model_max_length = settings_max_length(root);
    return out;
  }
  if (!vocab && !json) {
    fail(dir, "no tokenizer (attune reads a folder's vocab.txt, tokenizer.json, DeBERTa's spm.model or XLM-R's and "
              "CamemBERT's sentencepiece.bpe.model; "
              "AutoTokenizer.from_pretrained(...).save_pretrained(DIR) writes one)");
  }
  if (vocab) {
    HfBertTokenizer bert = load_hf_bert_tokenizer(dir);
    out.tokenizer = std::move(bert.tokenizer);
    out.model_max_length = bert.model_max_length;
    out.source = "vocab.txt";
    return out;
  }
  out.tokenizer = load_tokenizer(dir);
  out.source = "tokenizer.json";
  out.model_max_length = settings_max_length(root);
  return out;
}

}  // namespace attune::text
