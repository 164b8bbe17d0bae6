#include "data/text/tokenizer.h"

#include "data/error.h"
#include "data/io/files.h"
#include "data/text/sentencepiece.h"
#include "data/text/wordpiece.h"

#include <filesystem>

namespace attune::text {

Encoding Tokenizer::encode(const std::string& text, const std::string* pair, int64_t max_length) const {
  std::vector<int64_t> a = encode_plain(text);
  std::vector<int64_t> b;
  if (pair) b = encode_plain(*pair);
  const int64_t specials = pair ? 3 : 2;
  const int64_t budget = std::max<int64_t>(0, max_length - specials);
  while (static_cast<int64_t>(a.size() + b.size()) > budget) {
    if (a.size() > b.size()) {
      a.pop_back();
    } else {
      b.pop_back();
    }
  }
  Encoding e;
  e.ids.reserve(a.size() + b.size() + specials);
  e.ids.push_back(cls_id());
  e.ids.insert(e.ids.end(), a.begin(), a.end());
  e.ids.push_back(sep_id());
  e.type_ids.assign(e.ids.size(), 0);
  if (pair) {
    e.ids.insert(e.ids.end(), b.begin(), b.end());
    e.ids.push_back(sep_id());
    e.type_ids.resize(e.ids.size(), 1);
  }
  return e;
}

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
