#include "data/text/tokenizer.h"

#include "core/error.h"
#include "core/files.h"
#include "data/text/sentencepiece.h"
#include "data/text/wordpiece.h"

#include <filesystem>

namespace attune::text {

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "tokenizer.json").string();
  if (!std::filesystem::exists(path)) fail(dir, "no tokenizer.json (not a saved attune tokenizer)");
  const nlohmann::json j = io::read_json(path);
  const std::string kind = j.value("kind", "");
  if (kind == "wordpiece") return WordPieceTokenizer::load(dir);
  if (kind == "sentencepiece") return SentencePieceTokenizer::load_dir(dir);
  fail(path, "unknown tokenizer kind '" + kind + "' (known: wordpiece, sentencepiece)");
}

}  // namespace attune::text
