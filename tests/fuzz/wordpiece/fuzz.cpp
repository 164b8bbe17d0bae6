// WordPiece vocabularies and their settings files (data/text/wordpiece.h,
// hf_tokenizer.h, tokenizer.h): a directory of vocab.txt, Hugging Face's
// tokenizer_config.json and special_tokens_map.json, and attune's tokenizer.json, read
// the three ways a run reads them, then a text tokenized with what loaded.
#include "core/error.h"
#include "data/text/hf_tokenizer.h"
#include "data/text/tokenizer.h"
#include "data/text/wordpiece.h"
#include "tests/fuzz/common.h"

#include <filesystem>

namespace {

void use(const attune::text::Tokenizer& tokenizer, const std::string& text) {
  for (int64_t id : tokenizer.encode_plain(text)) {
    if (id < 0 || id >= tokenizer.vocab_size()) std::abort();
    (void)tokenizer.id_to_token(id);
  }
  (void)tokenizer.tokenize(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // vocab.txt, tokenizer_config.json, special_tokens_map.json, tokenizer.json, a text.
  const std::vector<std::string> parts = attune::fuzz::split_parts(data, size, 5);
  const std::filesystem::path dir = attune::fuzz::scratch_dir() / "tok";
  std::filesystem::create_directories(dir);
  const char* const names[] = {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"};
  for (int i = 0; i < 4; ++i) {
    const std::string file = "tok/" + std::string(names[i]);
    // An empty part stands for a file that is not there (the optional HF files).
    if (parts[i].empty() && i > 0) {
      std::filesystem::remove(attune::fuzz::scratch_dir() / file);
    } else {
      attune::fuzz::write_scratch(file, parts[i]);
    }
  }
  try {
    const attune::text::HfBertTokenizer hf = attune::text::load_hf_bert_tokenizer(dir.string());
    use(*hf.tokenizer, parts[4]);
  } catch (const attune::UserError&) {
  }
  try {
    use(*attune::text::load_tokenizer(dir.string()), parts[4]);
  } catch (const attune::UserError&) {
  }
  return 0;
}
