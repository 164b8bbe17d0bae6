#include "data/text/translation_tokenizer.h"

#include "core/error.h"
#include "core/files.h"
#include "data/text/marian_tokenizer.h"

#include <filesystem>

namespace attune::text {

JointSentencePiece::JointSentencePiece(std::shared_ptr<SentencePieceTokenizer> model) : model_(std::move(model)) {
  const int64_t pad = pad_id(), start = start_id(), eos = eos_id();
  if (start == eos || start == pad || eos == pad) {
    fail("tokenizer", "translation needs distinct pad, BOS ([CLS]/<s>) and EOS ([SEP]/</s>) pieces");
  }
}

std::shared_ptr<TranslationTokenizer> as_translation_tokenizer(std::unique_ptr<Tokenizer> tokenizer,
                                                               const std::string& where) {
  auto* sp = dynamic_cast<SentencePieceTokenizer*>(tokenizer.get());
  if (!sp) fail(where, "translation needs a sentencepiece tokenizer (it detokenizes its output)");
  tokenizer.release();
  return std::make_shared<JointSentencePiece>(std::shared_ptr<SentencePieceTokenizer>(sp));
}

std::shared_ptr<TranslationTokenizer> load_translation_tokenizer(const std::string& dir) {
  if (MarianTokenizer::is_saved_marian(dir)) return MarianTokenizer::load(dir);
  return as_translation_tokenizer(load_tokenizer(dir), dir);
}

}  // namespace attune::text
