// Hugging Face tokenizer.json files read natively (data/text/hf_tokenizer_json/). Every
// expectation is derived by hand from the tokenizers library's documented behaviour.
#include "core/files.h"
#include "data/text/hf_tokenizer_json/byte_level.h"
#include "data/text/hf_tokenizer_json/hf_json_tokenizer.h"
#include "data/text/hf_tokenizer_json/unicode.h"
#include "tests/catch.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

using namespace attune;
using Offsets = std::vector<std::pair<size_t, size_t>>;
using Ids = std::vector<int64_t>;

namespace {

std::unique_ptr<text::HfJsonTokenizer> from_json(const nlohmann::json& j, const std::string& name) {
  const std::string dir = testing::temp_dir("tokjson-" + name);
  io::write_file_atomic(dir + "/tokenizer.json", j.dump());
  return text::HfJsonTokenizer::load(dir + "/tokenizer.json");
}

nlohmann::json added(int64_t id, const std::string& content, bool special, bool normalized = false) {
  return {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},   {"normalized", normalized}, {"special", special}};
}

// BERT as tokenizers' BertWordPieceTokenizer writes it.
nlohmann::json bert_json() {
  nlohmann::json j = nlohmann::json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                   "strip_accents": null, "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
      "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
      "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                         "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100,
      "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "world": 6, "!": 7,
                "un": 8, "##aff": 9, "##able": 10, "cafe": 11, "中": 14}}})");
  j["added_tokens"] = {added(0, "[PAD]", true), added(1, "[UNK]", true), added(2, "[CLS]", true),
                       added(3, "[SEP]", true), added(4, "[MASK]", true)};
  return j;
}

// RoBERTa-style byte-level BPE: the 256 byte characters at ids 4 + byte, then merges.
nlohmann::json byte_level_json() {
  nlohmann::json vocab = {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3}};
  for (int b = 0; b < 256; ++b) {
    vocab[text::hf_json::encode_utf8(std::u32string(1, text::hf_json::byte_to_char(static_cast<unsigned char>(b))))] = 4 + b;
  }
  vocab["he"] = 260;
  vocab["\xC4\xA0t"] = 261;         // "Ġt"
  vocab["\xC4\xA0the"] = 262;       // "Ġthe"
  nlohmann::json j = {
      {"version", "1.0"},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}}, {"trim_offsets", true},
        {"add_prefix_space", false}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
        // One merge in the old "a b" form, two as pairs.
        {"merges", {"h e", {"\xC4\xA0", "t"}, {"\xC4\xA0t", "he"}}}}},
      {"added_tokens", {added(0, "<s>", true), added(1, "<pad>", true), added(2, "</s>", true), added(3, "<unk>", true)}}};
  return j;
}

nlohmann::json unigram_json() {
  return nlohmann::json::parse(R"({
    "version": "1.0", "normalizer": null,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
    "post_processor": null,
    "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
    "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false,
      "vocab": [["<unk>", 0.0], ["▁", -2.0], ["▁he", -3.0], ["llo", -3.0], ["▁hello", -4.5], ["h", -5.0],
                ["e", -5.0], ["l", -5.0], ["o", -5.0], ["▁w", -4.0], ["or", -4.0], ["ld", -4.0], ["▁world", -13.0]]},
    "added_tokens": [{"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false,
                      "normalized": false, "special": true}]})");
}

}  // namespace

TEST_CASE("tokenizer.json WordPiece: BertNormalizer, BertPreTokenizer, template, offsets, decode", "[tokenizer-json]") {
  const auto t = from_json(bert_json(), "bert");
  // "Café" loses its accent; its token spans the 2-byte é in the original.
  const auto e = t->encode_with_offsets("Hello, World! unaffable Café", nullptr, true);
  CHECK(e.ids == Ids{2, 5, 1, 6, 7, 8, 9, 10, 11, 3});
  CHECK(e.offsets == Offsets{{0, 0}, {0, 5}, {5, 6}, {7, 12}, {12, 13}, {14, 16}, {16, 19}, {19, 23}, {24, 29}, {0, 0}});
  CHECK(e.tokens[6] == "##aff");
  CHECK(e.special_tokens_mask == std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  // CJK characters are words of their own.
  CHECK(t->encode_plain("hello中") == Ids{5, 14});
  const std::string world = "world";
  const auto pair = t->encode("hello", &world, 512);
  CHECK(pair.ids == Ids{2, 5, 3, 6, 3});
  CHECK(pair.type_ids == Ids{0, 0, 0, 1, 1});
  // longest_first truncation counts the template's two special tokens.
  CHECK(t->encode("hello world ! unaffable", nullptr, 5).ids == Ids{2, 5, 6, 7, 3});
  // [UNK] is special, so decode skips it; "##" joins, cleanup pulls "!" to the word.
  CHECK(t->decode(e.ids) == "hello world! unaffable cafe");
  CHECK(t->decode(e.ids, false) == "[CLS] hello [UNK] world! unaffable cafe [SEP]");
  CHECK(t->cls_id() == 2);
  CHECK(t->sep_id() == 3);
  CHECK(t->pad_id() == 0);
  CHECK(t->mask_id() == 4);
  CHECK(t->unk_id() == 1);
  CHECK(t->vocab_size() == 15);
}

TEST_CASE("tokenizer.json added tokens: special, lstrip/rstrip, single_word, normalized", "[tokenizer-json]") {
  nlohmann::json j = bert_json();
  nlohmann::json ent = added(12, "<ent>", false);
  ent["lstrip"] = true;
  ent["rstrip"] = true;
  nlohmann::json wow = added(13, "WOW", false, true);  // normalized: matched as "wow" after lower-casing
  wow["single_word"] = true;
  j["added_tokens"].push_back(ent);
  j["added_tokens"].push_back(wow);
  const auto t = from_json(j, "added");
  // The stripped spaces belong to the added token's offsets.
  auto e = t->encode_with_offsets("hello <ent> world", nullptr, false);
  CHECK(e.ids == Ids{5, 12, 6});
  CHECK(e.offsets == Offsets{{0, 5}, {5, 12}, {12, 17}});
  e = t->encode_with_offsets("hello<ent>world", nullptr, false);
  CHECK(e.offsets == Offsets{{0, 5}, {5, 10}, {10, 15}});
  // Special tokens in the text are found before the normalizer could lower-case them.
  CHECK(t->encode_plain("hello [MASK]") == Ids{5, 4});
  // single_word: "wow" inside "wowza" is not the token; alone it is.
  e = t->encode_with_offsets("Wowza WOW", nullptr, false);
  CHECK(e.ids == Ids{1, 13});
  CHECK(e.offsets == Offsets{{0, 5}, {6, 9}});
  CHECK(t->decode({5, 12, 6}) == "hello <ent> world");
}

TEST_CASE("tokenizer.json byte-level BPE: merges by rank, RoBERTa layout, trimmed offsets", "[tokenizer-json]") {
  const auto t = from_json(byte_level_json(), "bpe");
  const auto e = t->encode_with_offsets("the the", nullptr, true);
  // "the" -> t + he (h e merges first); " the" -> Ġ t he -> Ġt he -> Ġthe.
  CHECK(e.ids == Ids{0, 4 + 't', 260, 262, 2});
  // Trimming moves Ġthe's start past its space.
  CHECK(e.offsets == Offsets{{0, 0}, {0, 1}, {1, 3}, {4, 7}, {0, 0}});
  const std::string the = "the";
  const auto pair = t->encode("the", &the, 512);
  CHECK(pair.ids == Ids{0, 4 + 't', 260, 2, 2, 4 + 't', 260, 2});
  CHECK(pair.type_ids == Ids(8, 0));
  // Both bytes of é are tokens; each spans the whole character.
  const auto accent = t->encode_with_offsets("é", nullptr, false);
  CHECK(accent.ids == Ids{4 + 0xC3, 4 + 0xA9});
  CHECK(accent.offsets == Offsets{{0, 2}, {0, 2}});
}

TEST_CASE("tokenizer.json ByteLevel: any UTF-8 decodes back to itself", "[tokenizer-json]") {
  const auto t = from_json(byte_level_json(), "bpe-roundtrip");
  for (const std::string s : {"the quick brown fox", "héllo wörld", "日本語のテキスト", "emoji 🙂👍🏽 mixed",
                              "  leading and trailing  ", "tabs\tand\nnewlines\r\n", "it's we'll they've",
                              "numbers 12345 and symbols #$%^&*()", "\x01\x7f control", ""}) {
    CHECK(t->decode(t->encode_plain(s)) == s);
  }
  // Specials are skipped on decode unless asked for.
  CHECK(t->decode(t->encode("the", nullptr, 512).ids) == "the");
  CHECK(t->decode(t->encode("the", nullptr, 512).ids, false) == "<s>the</s>");
}

TEST_CASE("tokenizer.json Unigram with Metaspace: Viterbi, fused unknowns, offsets, decode", "[tokenizer-json]") {
  const auto t = from_json(unigram_json(), "unigram");
  // ▁hello (-4.5) beats ▁he llo (-6); ▁w or ld (-12) beats ▁world (-13).
  auto e = t->encode_with_offsets("hello world", nullptr, true);
  CHECK(e.ids == Ids{4, 9, 10, 11});
  // The prepended ▁ shares h's offsets; the space-turned-▁ keeps its own.
  CHECK(e.offsets == Offsets{{0, 5}, {5, 7}, {7, 9}, {9, 11}});
  CHECK(t->decode(e.ids) == "hello world");
  // x, y and z are unknown: one fused <unk> spanning all three.
  e = t->encode_with_offsets("hello xyz", nullptr, false);
  CHECK(e.ids == Ids{4, 1, 0});
  CHECK(e.offsets == Offsets{{0, 5}, {5, 6}, {6, 9}});
}

TEST_CASE("tokenizer.json normalizers and pre-tokenizers compose", "[tokenizer-json]") {
  nlohmann::json j = unigram_json();
  // Replace runs of spaces by one, then NFKC (ｈ -> h), then strip.
  j["normalizer"] = nlohmann::json::parse(R"({"type": "Sequence", "normalizers": [
      {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}, {"type": "NFKC"},
      {"type": "Strip", "strip_left": true, "strip_right": true}]})");
  const auto t = from_json(j, "normalizers");
  const auto e = t->encode_with_offsets("  \xEF\xBD\x88\x65llo   world ", nullptr, false);  // "  ｈello   world "
  CHECK(e.ids == Ids{4, 9, 10, 11});
  CHECK(e.offsets == Offsets{{2, 9}, {11, 13}, {13, 15}, {15, 17}});
  nlohmann::json digits = bert_json();
  digits["pre_tokenizer"] = nlohmann::json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": true}]})");
  digits["model"]["vocab"]["1"] = 15;
  digits["model"]["vocab"]["2"] = 16;
  const auto d = from_json(digits, "digits");
  CHECK(d->encode_plain("hello12") == Ids{5, 15, 16});
}

TEST_CASE("tokenizer.json Precompiled normalizer reads sentencepiece's charsmap", "[tokenizer-json]") {
  // A hand-built darts-clone trie with one key, "x" -> "y": the root's offset leads to
  // unit 1 ^ 'x' = 121, labelled 'x' with a leaf whose value (at 121 ^ 123 = 2) is 0,
  // the index of "y\0" in the normalized strings.
  std::vector<uint32_t> units(122, 0);
  units[0] = 1u << 10;
  units[121] = (123u << 10) | (1u << 8) | 'x';
  units[2] = 0x80000000u;
  std::string blob;
  const auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) blob += static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  le32(static_cast<uint32_t>(units.size() * 4));
  for (uint32_t u : units) le32(u);
  blob += std::string("y\0", 2);
  static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < blob.size(); i += 3) {
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = (v << 8) | (i + k < blob.size() ? static_cast<unsigned char>(blob[i + k]) : 0);
    const size_t n = std::min<size_t>(3, blob.size() - i);
    for (size_t k = 0; k < 4; ++k) b64 += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
  }
  nlohmann::json j = nlohmann::json::parse(R"({"version": "1.0", "pre_tokenizer": {"type": "WhitespaceSplit"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "ayb": 1, "b": 2}}})");
  j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", b64}};
  const auto t = from_json(j, "precompiled");
  const auto e = t->encode_with_offsets("axb b", nullptr, false);
  CHECK(e.ids == Ids{1, 2});
  CHECK(e.offsets == Offsets{{0, 3}, {4, 5}});
}

TEST_CASE("load_tokenizer picks the Hugging Face reader for an HF tokenizer.json and saves it back", "[tokenizer-json]") {
  const std::string dir = testing::temp_dir("tokjson-dir");
  io::write_file_atomic(dir + "/tokenizer.json", bert_json().dump());
  const auto t = text::load_tokenizer(dir);
  CHECK(t->kind() == "hf_tokenizer_json");
  CHECK(t->encode("hello", nullptr, 16).ids == Ids{2, 5, 3});
  t->save(dir + "/copy");
  CHECK(text::load_tokenizer(dir + "/copy")->encode_plain("hello world") == Ids{5, 6});
}

TEST_CASE("tokenizer.json components attune lacks, and malformed files, are one-line errors", "[tokenizer-json][errors]") {
  const std::string dir = testing::temp_dir("tokjson-errors");
  const std::string path = dir + "/tokenizer.json";
  const auto error_for = [&](const std::string& content) {
    io::write_file_atomic(path, content);
    return testing::error_of([&] { text::HfJsonTokenizer::load(path); });
  };
  nlohmann::json j = bert_json();
  j["pre_tokenizer"] = nlohmann::json::parse(
      R"({"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "UnicodeScripts"}]})");
  CHECK(error_for(j.dump()) == path + ": pre_tokenizer.pretokenizers[1].type: unsupported 'UnicodeScripts'");
  j = bert_json();
  j["model"]["type"] = "WordLevel";
  CHECK(error_for(j.dump()) == path + ": model.type: unsupported 'WordLevel'");
  j = byte_level_json();
  j["model"]["dropout"] = 0.1;
  CHECK(error_for(j.dump()).rfind(path + ": model.dropout: BPE dropout", 0) == 0);
  j = byte_level_json();
  j["model"]["merges"].push_back("x zz");
  CHECK(error_for(j.dump()) == path + ": model.merges[3]: merge of 'x' and 'zz' uses a token not in the vocab ('zz')");
  j = bert_json();
  j["normalizer"]["lowercase"] = "yes";
  CHECK(error_for(j.dump()) == path + ": normalizer.lowercase: expected true or false, got \"yes\"");
  j = bert_json();
  j["decoder"] = {{"type", "CTC"}};
  CHECK(error_for(j.dump()) == path + ": decoder.type: unsupported 'CTC'");
  CHECK(error_for("{\"model\": ").rfind(path + ": not valid JSON: ", 0) == 0);
  CHECK(error_for("{\"model\": {}}") == path + ": not a Hugging Face tokenizer.json (no \"model\": {\"type\": ...})");
  // Through load_tokenizer too: the error is the reader's, naming the file.
  j = bert_json();
  j["post_processor"]["type"] = "Mystery";
  io::write_file_atomic(path, j.dump());
  CHECK(testing::error_of([&] { text::load_tokenizer(dir); }) == path + ": post_processor.type: unsupported 'Mystery'");
  // A tokenizer without a mask token says so instead of answering a wrong id.
  j = unigram_json();
  io::write_file_atomic(path, j.dump());
  CHECK(testing::error_of([&] { text::HfJsonTokenizer::load(path)->mask_id(); }) ==
        path + ": the tokenizer has no mask ([MASK] or <mask>) token");
}
