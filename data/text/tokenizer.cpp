#include "data/text/tokenizer.h"

#include "core/error.h"
#include "core/files.h"
#include "data/text/hf_tokenizer_json/hf_json_tokenizer.h"
#include "data/text/sentencepiece.h"
#include "data/text/wordpiece.h"

#include <filesystem>

namespace attune::text {

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "tokenizer.json").string();
  if (!std::filesystem::exists(path)) fail(dir, "no tokenizer.json (not a saved attune tokenizer)");
  const nlohmann::json j = io::read_json(path);
  // Checked, not j.value(): on a file that is not an object, or a kind that is not a
  // string, that throws nlohmann's type_error (found by tests/fuzz/wordpiece).
  if (!j.is_object()) fail(path, "expected a JSON object with a \"kind\"");
  // attune's own tokenizer.json says "kind"; Hugging Face's has a "model" object.
  if (is_hf_tokenizer_json(j)) return HfJsonTokenizer::load(path);
  const auto found = j.find("kind");
  if (found != j.end() && !found->is_string()) fail(path, "\"kind\" must be a string, got " + found->dump());
  const std::string kind = found == j.end() ? "" : found->get<std::string>();
  if (kind == "wordpiece") return WordPieceTokenizer::load(dir);
  if (kind == "sentencepiece") return SentencePieceTokenizer::load_dir(dir);
  fail(path, "unknown tokenizer kind '" + kind + "' (known: wordpiece, sentencepiece, or a Hugging Face tokenizer.json)");
}

}  // namespace attune::text
