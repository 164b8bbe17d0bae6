#include "tests/catch.h"

#include "core/error.h"
#include "data/text/sentencepiece.h"
#include "tests/common/synthetic.h"

#include <fstream>
#include <iterator>
#include <random>

namespace attune::sentencepiece_test {

std::vector<std::string> sentences() {
  const std::vector<std::string> words = {"the", "model", "learns", "attention", "weights", "from", "data",
                                          "quickly", "and", "slowly", "tokens", "sentence", "piece"};
  std::mt19937 rng(5);
  std::vector<std::string> out;
  for (int i = 0; i < 400; ++i) {
    std::string s;
    for (int w = 0; w < 8; ++w) s += (w ? " " : "") + words[rng() % words.size()];
    out.push_back(s);
  }
  return out;
}

TEST_CASE("SentencePiece trains, encodes with BERT specials, and round-trips", "[sentencepiece]") {
  const std::string dir = testing::temp_dir("spm-train");
  const auto texts = sentences();
  const auto sp = text::SentencePieceTokenizer::train(texts, 100, "unigram", dir + "/tok");
  CHECK(sp->pad_id() == 0);
  CHECK(sp->unk_id() == 1);
  CHECK(sp->id_to_token(sp->cls_id()) == "[CLS]");
  CHECK(sp->id_to_token(sp->sep_id()) == "[SEP]");
  CHECK(sp->id_to_token(sp->mask_id()) == "[MASK]");
  const auto pieces = sp->tokenize("the model learns");
  REQUIRE(!pieces.empty());
  CHECK(pieces.front().rfind("\u2581", 0) == 0);  // sentencepiece's word-start marker
  const auto e = sp->encode("the model", nullptr, 64);
  CHECK(e.ids.front() == sp->cls_id());
  CHECK(e.ids.back() == sp->sep_id());
  std::string joined;
  for (const auto& p : pieces) joined += p;
  CHECK(joined == "\u2581the\u2581model\u2581learns");

  const std::string saved = dir + "/saved";
  sp->save(saved);
  const auto loaded = text::load_tokenizer(saved);
  CHECK(loaded->kind() == "sentencepiece");
  for (size_t i = 0; i < 20; ++i) CHECK(loaded->encode_plain(texts[i]) == sp->encode_plain(texts[i]));
  // Training is deterministic.
  const auto again = text::SentencePieceTokenizer::train(texts, 100, "unigram", dir + "/tok2");
  for (size_t i = 0; i < 20; ++i) CHECK(again->encode_plain(texts[i]) == sp->encode_plain(texts[i]));
  const auto bpe = text::SentencePieceTokenizer::train(texts, 100, "bpe", dir + "/bpe");
  CHECK(bpe->vocab_size() > 20);
}

TEST_CASE("a file that is not a sentencepiece model is a clear error", "[sentencepiece][errors]") {
  const std::string dir = testing::temp_dir("spm-bad");
  std::ofstream(dir + "/bad.model") << "not a model";
  CHECK_THROWS_AS(text::SentencePieceTokenizer::load(dir + "/bad.model"), UserError);
  try {
    text::SentencePieceTokenizer::load(dir + "/missing.model");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) == dir + "/missing.model: cannot open file");
  }
}

TEST_CASE("a sentencepiece model whose unk id is none of its pieces is refused at load with one line",
          "[sentencepiece][errors]") {
  // The model part of the input CI fuzzing found (tests/fuzz/sentencepiece/crashes/): its
  // unk piece is not in its vocabulary, so sentencepiece answers unk id -1, and looking
  // that id up later threw protobuf's bounds check across the shim.
  std::ifstream in(std::string(ATTUNE_SOURCE_DIR) +
                       "/tests/fuzz/sentencepiece/crashes/crash-9ed60fec72327c7f3497d98a7c90795c19094d3e",
                   std::ios::binary);
  REQUIRE(in);
  const std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t separator = input.find("\n#---#\n");  // tests/fuzz/common.h's kSeparator
  REQUIRE(separator != std::string::npos);
  const std::string dir = testing::temp_dir("spm-unk");
  const std::string path = dir + "/no-unk.model";
  std::ofstream(path, std::ios::binary) << input.substr(0, separator);
  try {
    text::SentencePieceTokenizer::load(path);
    FAIL("a model without its unk piece loaded");
  } catch (const UserError& e) {
    const std::string message = e.what();
    CHECK(message.rfind(path + ": sentencepiece model's unk id -1 is not one of its ", 0) == 0);
    CHECK(message.find('\n') == std::string::npos);
  }
}

}  // namespace attune::sentencepiece_test
