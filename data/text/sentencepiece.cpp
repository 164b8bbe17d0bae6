#include "data/text/sentencepiece.h"

#include "core/error.h"
#include "core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace attune::text {
namespace {

// sentencepiece's trainer logs to stderr unconditionally; keep the CLI's stderr
// for progress and errors only.
class SilenceStderr {
 public:
  SilenceStderr() {
    saved_ = ::dup(2);
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 2);
      ::close(devnull);
    }
  }
  ~SilenceStderr() {
    if (saved_ >= 0) {
      ::dup2(saved_, 2);
      ::close(saved_);
    }
  }

 private:
  int saved_ = -1;
};

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path)
    : model_path_(model_path), model_(std::make_unique<SpmModel>(model_path)) {
  const int64_t pad = model_->pad_id(), unk = model_->unk_id();
  if (unk < 0 || unk >= model_->piece_size()) {
    fail(model_path, "sentencepiece model's unk id " + std::to_string(unk) + " is not one of its " +
                         std::to_string(model_->piece_size()) + " pieces");
  }
  unk_ = unk;
  const auto in_vocabulary = [&](int64_t id) { return id >= 0 && id < model_->piece_size(); };
  pad_ = in_vocabulary(pad) ? pad : unk;
  auto piece = [&](const char* name, int64_t fallback) {
    const int64_t id = model_->piece_to_id(name);
    return id >= 0 ? id : fallback;
  };
  cls_ = piece("[CLS]", model_->bos_id());
  sep_ = piece("[SEP]", model_->eos_id());
  mask_ = piece("[MASK]", unk_);
  if (!in_vocabulary(cls_) || !in_vocabulary(sep_)) {
    fail(model_path, "sentencepiece model has neither [CLS]/[SEP] pieces nor bos/eos ids");
  }
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load(const std::string& model_path) {
  return std::unique_ptr<SentencePieceTokenizer>(new SentencePieceTokenizer(model_path));
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load_dir(const std::string& dir) {
  auto tokenizer = load((fs::path(dir) / "sentencepiece.model").string());
  const std::string settings = (fs::path(dir) / "tokenizer.json").string();
  if (fs::exists(settings)) {
    const nlohmann::json j = io::read_json(settings);
    if (j.is_object() && j.contains("mask_after_pieces")) {
      if (!j["mask_after_pieces"].is_boolean()) {
        fail(settings + ": mask_after_pieces", "must be true or false, got " + j["mask_after_pieces"].dump());
      }
      if (j["mask_after_pieces"].get<bool>()) tokenizer->add_mask_after_pieces();
    }
  }
  return tokenizer;
}

void SentencePieceTokenizer::add_mask_after_pieces() {
  if (mask_after_pieces_ || model_->piece_to_id("[MASK]") >= 0) return;  // the model's own piece wins
  mask_ = model_->piece_size();
  mask_after_pieces_ = true;
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::train(const std::vector<std::string>& texts,
                                                                      int64_t vocab_size,
                                                                      const std::string& model_type,
                                                                      const std::string& out_dir) {
  fs::create_directories(out_dir);
  const std::string corpus = (fs::path(out_dir) / "sentencepiece.corpus.txt").string();
  {
    std::ofstream out(corpus);
    if (!out) fail(corpus, "cannot write");
    for (std::string t : texts) {
      for (auto& c : t) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      if (!t.empty()) out << t << '\n';
    }
  }
  const std::string prefix = (fs::path(out_dir) / "sentencepiece").string();
  const std::string args = "--input=" + corpus + " --model_prefix=" + prefix + " --vocab_size=" +
                           std::to_string(vocab_size) + " --model_type=" + model_type +
                           " --pad_id=0 --unk_id=1 --bos_id=-1 --eos_id=-1 --control_symbols=[CLS],[SEP],[MASK]"
                           " --character_coverage=0.9995 --num_threads=1 --hard_vocab_limit=false"
                           " --max_sentence_length=65536 --minloglevel=2";
  {
    SilenceStderr quiet;
    spm_train(args, "tokenizer");
  }
  fs::remove(corpus);
  fs::remove(prefix + ".vocab");
  return load(prefix + ".model");
}

std::vector<int64_t> SentencePieceTokenizer::encode_plain(const std::string& text) const { return model_->encode(text); }

std::vector<std::string> SentencePieceTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> pieces;
  for (int64_t id : encode_plain(text)) pieces.push_back(model_->id_to_piece(id));
  return pieces;
}

std::string SentencePieceTokenizer::id_to_token(int64_t id) const {
  if (mask_after_pieces_ && id == mask_) return "[MASK]";
  if (id < 0 || id >= vocab_size()) return model_->id_to_piece(unk_);
  return model_->id_to_piece(id);
}

void SentencePieceTokenizer::save(const std::string& dir) const {
  fs::create_directories(dir);
  const std::string target = (fs::path(dir) / "sentencepiece.model").string();
  if (fs::absolute(target) != fs::absolute(model_path_)) io::write_file_atomic(target, io::read_file(model_path_));
  nlohmann::json settings = {{"kind", "sentencepiece"}};
  if (mask_after_pieces_) settings["mask_after_pieces"] = true;
  io::write_json_atomic((fs::path(dir) / "tokenizer.json").string(), settings);
}

}  // namespace attune::text
