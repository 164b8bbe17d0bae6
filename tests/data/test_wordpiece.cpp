#include "tests/catch.h"

#include "core/error.h"
#include "data/text/factory.h"
#include "data/text/wordpiece.h"
#include "tests/common/synthetic.h"

#include <fstream>

namespace attune::wordpiece_test {

using text::WordPieceOptions;
using text::WordPieceTokenizer;

// ids: 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK] 5 un 6 ##want 7 ##ed 8 , 9 runn 10 ##ing
//      11 want 12 cafe 13 café 14 中 15 文 16 abc 17 hello 18 ! 19 world 20 i 21 a 22 b 23 c
std::vector<std::string> vocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##want", "##ed", ",",     "runn", "##ing", "want",
          "cafe",  "café",  "中",    "文",    "abc",    "hello", "!",    "world", "i",     "a",    "b",     "c"};
}

WordPieceTokenizer make(bool lowercase = true, int strip_accents = -1) {
  WordPieceOptions o;
  o.basic.lowercase = lowercase;
  o.basic.strip_accents = strip_accents;
  return WordPieceTokenizer(vocab(), o, "test vocab");
}

using Ids = std::vector<int64_t>;

TEST_CASE("WordPiece splits words greedily with ## continuations (BERT's own example)", "[wordpiece]") {
  const auto t = make();
  CHECK(t.tokenize("UNwant\u00E9d,running") == std::vector<std::string>{"un", "##want", "##ed", ",", "runn", "##ing"});
  CHECK(t.encode_plain("UNwant\u00E9d,running") == Ids{5, 6, 7, 8, 9, 10});
  CHECK(t.encode_plain("unwantedX") == Ids{1});  // one unknown piece makes the whole word [UNK]
  CHECK(t.encode_plain("") == Ids{});
}

TEST_CASE("a token listed twice in vocab.txt maps to its last id, as in transformers", "[wordpiece]") {
  auto words = vocab();
  words.push_back("##ed");  // id 24
  const WordPieceTokenizer t(words, WordPieceOptions(), "test vocab");
  CHECK(t.encode_plain("wanted") == Ids{11, 24});
  CHECK(t.id_to_token(7) == "##ed");
}

TEST_CASE("WordPiece: accents, case, punctuation, CJK, control characters, long words", "[wordpiece]") {
  CHECK(make().encode_plain("Café") == Ids{12});                  // lower-cased and accents stripped
  CHECK(make(true, 0).encode_plain("Café") == Ids{13});            // lower-cased, accents kept
  CHECK(make(false).encode_plain("café") == Ids{13});              // cased: strip_accents follows lowercase
  CHECK(make(false, 1).encode_plain("café") == Ids{12});
  CHECK(make(false).encode_plain("Cafe") == Ids{1});               // cased vocabulary has no "Cafe"
  CHECK(make().encode_plain("Cafe\u0301") == Ids{12});             // decomposed input, NFC then stripped
  CHECK(make(true, 0).encode_plain("Cafe\u0301") == Ids{13});      // NFC composes it to café
  CHECK(make().encode_plain("hello!world") == Ids{17, 18, 19});
  CHECK(make().encode_plain("hello\u3000world\u00A0!") == Ids{17, 19, 18});  // ideographic / no-break spaces
  CHECK(make().encode_plain("中文abc") == Ids{14, 15, 16});
  CHECK(make().encode_plain("hel\x01lo\x7f \t\r\nworld") == Ids{17, 19});    // control characters dropped
  CHECK(make().encode_plain("\u0130") == Ids{20});                  // İ lower-cases to i + dot, dot stripped
  CHECK(make().encode_plain(std::string(101, 'a')) == Ids{1});
  CHECK(make().encode_plain("\xff\xfe hello \xc3") == Ids{17});     // invalid UTF-8 is dropped, not fatal
  CHECK(make().encode_plain("a\u2028b") == Ids{21, 22});           // Python's str.split() separators
}

TEST_CASE("encode adds [CLS]/[SEP], type ids, and truncates pairs longest-first", "[wordpiece]") {
  const auto t = make();
  const std::string a = "a b c hello world";  // 5 tokens
  const std::string b = "a b c";              // 3 tokens
  const auto e = t.encode(a, &b, 8);          // 5 + 3 + 3 specials = 11 > 8: remove 3
  CHECK(e.ids == Ids{2, 21, 22, 23, 3, 21, 22, 3});
  CHECK(e.type_ids == Ids{0, 0, 0, 0, 0, 1, 1, 1});
  const auto single = t.encode(a, nullptr, 4);
  CHECK(single.ids == Ids{2, 21, 22, 3});
  CHECK(single.type_ids == Ids{0, 0, 0, 0});
  CHECK(t.encode(a, nullptr, 100).ids.size() == 7);
}

TEST_CASE("a vocabulary without special tokens is rejected by name", "[wordpiece][errors]") {
  const std::string dir = testing::temp_dir("wordpiece-vocab");
  std::ofstream(dir + "/vocab.txt") << "[PAD]\n[UNK]\nhello\n";
  try {
    WordPieceTokenizer::from_vocab_file(dir + "/vocab.txt", {});
    FAIL("expected an error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()) == dir + "/vocab.txt: missing special token [CLS]");
  }
}

TEST_CASE("the WordPiece trainer is deterministic, reaches its size, and round-trips", "[wordpiece][trainer]") {
  std::vector<std::string> texts;
  const std::vector<std::string> words = {"training", "trainer", "trained", "rain", "brain", "drain", "train",
                                          "tokenizer", "token", "tokens", "élan", "naïve", "東京"};
  for (int i = 0; i < 300; ++i) texts.push_back(words[i % words.size()] + " " + words[(i * 7) % words.size()] + ".");
  WordPieceOptions options;
  const auto a = text::train_wordpiece(texts, 120, options, 2);
  const auto b = text::train_wordpiece(texts, 120, options, 2);
  CHECK(a->vocab() == b->vocab());
  CHECK(a->vocab_size() <= 120);
  CHECK(a->vocab_size() > 30);
  CHECK(std::vector<std::string>(a->vocab().begin(), a->vocab().begin() + 5) ==
        std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"});
  // Frequent words become single pieces; every training word is encodable.
  CHECK(a->tokenize("training") == std::vector<std::string>{"training"});
  for (const auto& w : words) {
    const auto ids = a->encode_plain(w);
    CHECK(std::count(ids.begin(), ids.end(), a->unk_id()) == 0);
  }
  // With a budget too small for whole words, words split into learned pieces.
  const auto small = text::train_wordpiece(texts, 34, options, 2);
  CHECK(small->vocab_size() <= 34);
  CHECK(small->tokenize("training").size() > 1);
  const std::string dir = testing::temp_dir("wordpiece-trained");
  a->save(dir);
  const auto loaded = text::load_tokenizer(dir);
  CHECK(loaded->kind() == "wordpiece");
  for (const auto& t : texts) CHECK(loaded->encode_plain(t) == a->encode_plain(t));
}

TEST_CASE("a saved tokenizer's tokenizer.json of the wrong shape is one clear error", "[wordpiece][errors]") {
  const std::string dir = testing::temp_dir("tokenizer-json-shape");
  const std::string path = dir + "/tokenizer.json";
  auto error_for = [&](const std::string& content) -> std::string {
    std::ofstream(path) << content;
    try {
      text::load_tokenizer(dir);
    } catch (const UserError& e) {
      return e.what();
    }
    return "<no UserError>";
  };
  CHECK(error_for("12") == path + ": expected a JSON object with a \"kind\"");
  CHECK(error_for("{\"kind\": 3}") == path + ": \"kind\" must be a string, got 3");
  CHECK(error_for("{\"kind\": \"bpe\"}") == path + ": unknown tokenizer kind 'bpe' (known: wordpiece, sentencepiece, or a Hugging Face tokenizer.json)");
}

TEST_CASE("the tokenizer section is typed: defaults, checks and a round trip", "[wordpiece][errors]") {
  nlohmann::json cfg = config::to_json(text::TokenizerConfig{});
  CHECK(cfg["type"] == "wordpiece");
  CHECK(cfg["vocab"].is_null());
  CHECK(cfg["strip_accents"].is_null());
  CHECK(config::to_json(config::parse<text::TokenizerConfig>(cfg, "tokenizer")) == cfg);
  cfg["strip_accents"] = false;
  CHECK(config::parse<text::TokenizerConfig>(cfg, "tokenizer").strip_accents == 0);
  CHECK(config::to_json(config::parse<text::TokenizerConfig>(cfg, "tokenizer")) == cfg);
  auto error_of = [&](const nlohmann::json& c) -> std::string {
    try {
      text::make_tokenizer(config::parse<text::TokenizerConfig>(c, "tokenizer"), {"hello world"},
                           testing::temp_dir("factory"));
    } catch (const UserError& e) {
      return e.what();
    }
    return "<no error>";
  };
  cfg["vocab_size"] = 50;
  CHECK(error_of(cfg) == "tokenizer.vocab_size: value 50 out of range [100, 4194304]");
  cfg["vocab_size"] = 200;
  cfg["type"] = "bpe";
  CHECK(error_of(cfg) == "tokenizer.type: unknown value 'bpe' (known: wordpiece, sentencepiece)");
  cfg["type"] = "wordpiece";
  cfg["strip_accents"] = "yes";
  CHECK(error_of(cfg) == "tokenizer.strip_accents: expected true/false or null");
  cfg["strip_accents"] = nullptr;
  cfg["min_frequencies"] = 2;
  CHECK(error_of(cfg) == "tokenizer.min_frequencies: unknown config key (did you mean 'tokenizer.min_frequency'?)");
  cfg.erase("min_frequencies");
  cfg["vocab"] = "/nonexistent/vocab.txt";
  CHECK(error_of(cfg).find("/nonexistent/vocab.txt: cannot open") == 0);
}

}  // namespace attune::wordpiece_test
