// SentencePiece model loading through attune's wrapper (data/text/sentencepiece.h):
// the bytes as sentencepiece.model, then a text encoded, decoded and mapped to pieces.
// The sentencepiece library itself runs uninstrumented in its own link namespace
// (data/text/spm_library.cpp), so coverage guides only the wrapper's side; a crash
// inside the library still stops the run.
#include "core/error.h"
#include "data/text/sentencepiece.h"
#include "tests/fuzz/common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The model, then (after a separator) a text.
  const std::vector<std::string> parts = attune::fuzz::split_parts(data, size, 2);
  const std::string path = attune::fuzz::write_scratch("sentencepiece.model", parts[0]);
  try {
    const auto tokenizer = attune::text::SentencePieceTokenizer::load(path);
    const std::string text = parts[1].empty() ? "Hello world, 123 tokens." : parts[1];
    const std::vector<int64_t> ids = tokenizer->encode_plain(text);
    for (int64_t id : ids) {
      if (id < 0 || id >= tokenizer->vocab_size()) std::abort();
      (void)tokenizer->id_to_token(id);
    }
    (void)tokenizer->id_to_token(-1);
    (void)tokenizer->id_to_token(tokenizer->vocab_size());
    (void)tokenizer->decode(ids);
    (void)tokenizer->decode({-5, tokenizer->vocab_size() + 3});
  } catch (const attune::UserError&) {
  }
  return 0;
}
