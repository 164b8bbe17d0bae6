#include "data/text/marian_tokenizer.h"

#include "core/error.h"
#include "core/files.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::text {
namespace {

constexpr const char* kSourceSpm = "source.spm";
constexpr const char* kTargetSpm = "target.spm";
constexpr const char* kVocab = "vocab.json";
constexpr const char* kTargetVocab = "target_vocab.json";
constexpr const char* kConfig = "tokenizer_config.json";

std::string required_file(const fs::path& dir, const char* name) {
  const fs::path path = dir / name;
  if (!fs::exists(path)) fail(dir.string(), std::string("no ") + name + " (not a MarianTokenizer folder)");
  return path.string();
}

std::unordered_map<std::string, int64_t> read_vocab(const std::string& path) {
  const nlohmann::json j = io::read_json(path);
  if (!j.is_object() || j.empty()) fail(path, "expected a JSON object of token -> id");
  std::unordered_map<std::string, int64_t> vocab;
  std::vector<char> seen(j.size(), 0);
  for (const auto& [token, id] : j.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= static_cast<int64_t>(j.size())) {
      fail(path, "token '" + token + "' has id " + id.dump() + "; ids must be 0.." + std::to_string(j.size() - 1));
    }
    if (seen[id.get<int64_t>()]++) fail(path, "id " + id.dump() + " is given to two tokens");
    vocab[token] = id.get<int64_t>();
  }
  return vocab;
}

// A special token as tokenizer_config.json writes it: a string or an AddedToken object.
std::string token_name(const nlohmann::json& config, const std::string& key, const std::string& path,
                       const std::string& fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  fail(path + ": " + key, "expected a token string or {\"content\": ...}, got " + it->dump());
}

int64_t id_of(const std::unordered_map<std::string, int64_t>& vocab, const std::string& token, const std::string& path,
              const std::string& what) {
  const auto it = vocab.find(token);
  if (it == vocab.end()) fail(path, "has no " + what + " token '" + token + "'");
  return it->second;
}

std::string strip(const std::string& s) {
  const char* space = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

void copy_file(const std::string& from, const fs::path& to) {
  if (fs::exists(to) && fs::equivalent(from, to)) return;
  io::write_file_atomic(to.string(), io::read_file(from));
}

}  // namespace

bool MarianTokenizer::is_saved_marian(const std::string& dir) {
  const fs::path path = fs::path(dir) / "tokenizer.json";
  if (!fs::exists(path)) return false;
  const nlohmann::json j = io::read_json(path.string());
  return j.is_object() && j.value("kind", nlohmann::json()) == "marian";
}

std::unique_ptr<MarianTokenizer> MarianTokenizer::load(const std::string& dir) {
  const fs::path root(dir);
  if (!fs::is_directory(root)) fail(dir, "not a directory (expected a MarianTokenizer folder)");
  std::unique_ptr<MarianTokenizer> t(new MarianTokenizer());
  t->dir_ = dir;
  const std::string config_path = (root / kConfig).string();
  t->config_ = fs::exists(config_path) ? io::read_json(config_path) : nlohmann::json::object();
  if (!t->config_.is_object()) fail(config_path, "expected a JSON object");
  const auto separate = t->config_.find("separate_vocabs");
  if (separate != t->config_.end() && !separate->is_null()) {
    if (!separate->is_boolean()) fail(config_path + ": separate_vocabs", "expected true or false, got " + separate->dump());
    t->separate_ = separate->get<bool>();
  }
  t->source_spm_ = std::make_unique<SpmModel>(required_file(root, kSourceSpm));
  t->target_spm_ = std::make_unique<SpmModel>(required_file(root, kTargetSpm));
  const std::string vocab_path = required_file(root, kVocab);
  t->source_vocab_ = read_vocab(vocab_path);
  const std::string unk = token_name(t->config_, "unk_token", config_path, "<unk>");
  const std::string eos = token_name(t->config_, "eos_token", config_path, "</s>");
  const std::string pad = token_name(t->config_, "pad_token", config_path, "<pad>");
  t->unk_ = id_of(t->source_vocab_, unk, vocab_path, "unk_token");
  t->eos_ = id_of(t->source_vocab_, eos, vocab_path, "eos_token");
  t->pad_ = id_of(t->source_vocab_, pad, vocab_path, "pad_token");
  if (t->eos_ == t->pad_) fail(vocab_path, "eos_token and pad_token have the same id");
  if (t->separate_) {
    const std::string target_path = required_file(root, kTargetVocab);
    t->target_vocab_ = read_vocab(target_path);
    // attune's model has one vocabulary size and one pad/EOS id for both sides.
    if (t->target_vocab_.size() != t->source_vocab_.size()) {
      fail(target_path, "has " + std::to_string(t->target_vocab_.size()) + " tokens and vocab.json " +
                            std::to_string(t->source_vocab_.size()) + "; attune needs one vocabulary size");
    }
    if (id_of(t->target_vocab_, eos, target_path, "eos_token") != t->eos_ ||
        id_of(t->target_vocab_, pad, target_path, "pad_token") != t->pad_) {
      fail(target_path, "gives eos_token or pad_token another id than vocab.json; attune needs the same ids");
    }
  }
  for (const auto& [token, id] : t->separate_ ? t->target_vocab_ : t->source_vocab_) t->id_to_token_[id] = token;
  return t;
}

std::vector<int64_t> MarianTokenizer::encode(const std::string& text, const SpmModel& spm, const Vocab& vocab) const {
  const auto id = [&](const std::string& token) {
    const auto it = vocab.find(token);
    return it != vocab.end() ? it->second : unk_;
  };
  std::vector<int64_t> ids;
  std::string rest = text;
  size_t end = 0;
  if (rest.rfind(">>", 0) == 0 && (end = rest.find("<<")) != std::string::npos) {
    ids.push_back(id(rest.substr(0, end + 2)));
    rest = rest.substr(end + 2);
  }
  for (const std::string& piece : spm.encode_pieces(rest)) ids.push_back(id(piece));
  return ids;
}

std::vector<int64_t> MarianTokenizer::encode_source(const std::string& text) const {
  return encode(text, *source_spm_, source_vocab_);
}

std::vector<int64_t> MarianTokenizer::encode_target(const std::string& text) const {
  return encode(text, *target_spm_, separate_ ? target_vocab_ : source_vocab_);
}

std::string MarianTokenizer::decode_target(const std::vector<int64_t>& ids) const {
  const SpmModel& spm = separate_ ? *target_spm_ : *source_spm_;
  std::vector<std::string> pieces;
  for (int64_t id : ids) {
    if (id == eos_ || id == pad_ || id == unk_) continue;
    const auto it = id_to_token_.find(id);
    const std::string token = it != id_to_token_.end() ? it->second : spm.id_to_piece(id);
    if (!token.empty()) pieces.push_back(token);
  }
  std::string text = spm.decode_pieces(pieces);
  // Pieces the .spm does not know keep their word-boundary marks; transformers spaces them.
  const std::string boundary = "\xe2\x96\x81";
  for (size_t at = text.find(boundary); at != std::string::npos; at = text.find(boundary, at + 1)) {
    text.replace(at, boundary.size(), " ");
  }
  return strip(text);
}

void MarianTokenizer::save_hf(const std::string& dir) const {
  const fs::path out(dir);
  fs::create_directories(out);
  const fs::path root(dir_);
  copy_file((root / kSourceSpm).string(), out / kSourceSpm);
  copy_file((root / kTargetSpm).string(), out / kTargetSpm);
  copy_file((root / kVocab).string(), out / kVocab);
  if (separate_) copy_file((root / kTargetVocab).string(), out / kTargetVocab);
  nlohmann::json config = config_;
  config["separate_vocabs"] = separate_;
  if (!config.contains("tokenizer_class")) config["tokenizer_class"] = "MarianTokenizer";
  io::write_json_atomic((out / kConfig).string(), config);
}

void MarianTokenizer::save(const std::string& dir) const {
  save_hf(dir);
  io::write_json_atomic((fs::path(dir) / "tokenizer.json").string(), {{"kind", "marian"}});
}

}  // namespace attune::text
