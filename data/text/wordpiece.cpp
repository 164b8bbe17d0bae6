#include "data/text/wordpiece.h"

#include "core/error.h"
#include "core/files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::text {

nlohmann::json WordPieceOptions::to_json() const {
  return {{"lowercase", basic.lowercase},
          {"strip_accents", basic.strip_accents < 0 ? nlohmann::json() : nlohmann::json(basic.strip_accents == 1)},
          {"tokenize_chinese_chars", basic.tokenize_chinese_chars},
          {"max_input_chars_per_word", max_input_chars_per_word}};
}

WordPieceOptions WordPieceOptions::from_json(const nlohmann::json& j, const std::string& where) {
  WordPieceOptions o;
  try {
    o.basic.lowercase = j.value("lowercase", true);
    const auto strip = j.value("strip_accents", nlohmann::json());
    o.basic.strip_accents = strip.is_null() ? -1 : (strip.get<bool>() ? 1 : 0);
    o.basic.tokenize_chinese_chars = j.value("tokenize_chinese_chars", true);
    o.max_input_chars_per_word = j.value("max_input_chars_per_word", int64_t{100});
  } catch (const nlohmann::json::exception& e) {
    fail(where, std::string("invalid WordPiece options: ") + e.what());
  }
  return o;
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options,
                                       const std::string& source)
    : vocab_(std::move(vocab)), options_(options) {
  // A token listed twice maps to its last line, as transformers' load_vocab (a dict
  // filled line by line) and the tokenizers library do; ids of the earlier lines still decode.
  for (size_t i = 0; i < vocab_.size(); ++i) ids_[vocab_[i]] = static_cast<int64_t>(i);
  auto special = [&](const char* token) {
    const auto it = ids_.find(token);
    if (it == ids_.end()) fail(source, std::string("missing special token ") + token);
    return it->second;
  };
  pad_ = special("[PAD]");
  unk_ = special("[UNK]");
  cls_ = special("[CLS]");
  sep_ = special("[SEP]");
  mask_ = special("[MASK]");
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::from_vocab_file(const std::string& path,
                                                                        const WordPieceOptions& options) {
  std::istringstream in(io::read_file(path));
  std::vector<std::string> vocab;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(line);  // transformers keeps the line minus its newline
  }
  if (vocab.empty()) fail(path, "empty vocabulary");
  return std::make_unique<WordPieceTokenizer>(std::move(vocab), options, path);
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::load(const std::string& dir) {
  const std::string config = (fs::path(dir) / "tokenizer.json").string();
  const auto options = WordPieceOptions::from_json(io::read_json(config), config);
  return from_vocab_file((fs::path(dir) / "vocab.txt").string(), options);
}

void WordPieceTokenizer::save(const std::string& dir) const {
  fs::create_directories(dir);
  std::string text;
  for (const auto& token : vocab_) text += token + "\n";
  io::write_file_atomic((fs::path(dir) / "vocab.txt").string(), text);
  nlohmann::json j = options_.to_json();
  j["kind"] = "wordpiece";
  io::write_json_atomic((fs::path(dir) / "tokenizer.json").string(), j);
}

std::string WordPieceTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size()) return "[UNK]";
  return vocab_[id];
}

void WordPieceTokenizer::word_pieces(const std::u32string& word, std::vector<int64_t>& out) const {
  if (static_cast<int64_t>(word.size()) > options_.max_input_chars_per_word) {
    out.push_back(unk_);
    return;
  }
  // UTF-8 byte offset of every code point, so substrings need no re-encoding.
  std::string utf8;
  std::vector<size_t> offsets;
  offsets.reserve(word.size() + 1);
  for (char32_t c : word) {
    offsets.push_back(utf8.size());
    append_utf8(utf8, c);
  }
  offsets.push_back(utf8.size());
  const size_t mark = out.size();
  size_t start = 0;
  std::string candidate;
  while (start < word.size()) {
    size_t end = word.size();
    int64_t found = -1;
    while (start < end) {
      candidate.assign(start > 0 ? "##" : "");
      candidate.append(utf8, offsets[start], offsets[end] - offsets[start]);
      const auto it = ids_.find(candidate);
      if (it != ids_.end()) {
        found = it->second;
        break;
      }
      --end;
    }
    if (found < 0) {
      out.resize(mark);  // one unknown piece makes the whole word [UNK]
      out.push_back(unk_);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

std::vector<int64_t> WordPieceTokenizer::encode_plain(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const auto& word : basic_tokenize(text, options_.basic)) word_pieces(word, ids);
  return ids;
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> pieces;
  for (int64_t id : encode_plain(text)) pieces.push_back(vocab_[id]);
  return pieces;
}

}  // namespace attune::text
