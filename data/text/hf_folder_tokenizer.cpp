#include "data/text/hf_folder_tokenizer.h"

#include "core/error.h"
#include "core/files.h"
#include "data/text/hf_tokenizer.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::text {

HfFolderTokenizer load_hf_folder_tokenizer(const std::string& dir) {
  const fs::path root(dir);
  HfFolderTokenizer out;
  const bool vocab = fs::exists(root / "vocab.txt"), json = fs::exists(root / "tokenizer.json");
  if (!vocab && !json && fs::exists(root / "spm.model")) {
    HfSpmTokenizer spm = load_hf_deberta_spm_tokenizer(dir);
    out.tokenizer = std::move(spm.tokenizer);
    out.model_max_length = spm.model_max_length;
    out.source = "spm.model";
    return out;
  }
  if (!vocab && !json && fs::exists(root / "sentencepiece.bpe.model")) {
    fail(dir, "has sentencepiece.bpe.model but no tokenizer.json: attune reads XLM-R's tokenizer from tokenizer.json "
              "(AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR) writes it)");
  }
  if (!vocab && !json) {
    fail(dir, "no tokenizer (attune reads a folder's vocab.txt, tokenizer.json or DeBERTa's spm.model; "
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
  const fs::path settings = root / "tokenizer_config.json";
  if (fs::exists(settings)) {
    const nlohmann::json j = io::read_json(settings.string());
    if (j.is_object()) out.model_max_length = hf_model_max_length(j);
  }
  return out;
}

}  // namespace attune::text
