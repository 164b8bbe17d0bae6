// MarianTokenizer (data/text/marian_tokenizer.h): on folders attune makes (ids are
// vocab.json's, not the .spm files', round trips, the one-line refusals of broken folders),
// then on the transformers-made fixtures of tests/fixtures/marian
// (tools/parity/make_marian_fixtures.py): source and target ids and decoded text exactly.
#include "tests/catch.h"

#include "core/files.h"
#include "data/text/marian_tokenizer.h"
#include "tests/common/errors.h"
#include "tests/common/marian_tokenizer_files.h"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using attune::testing::error_of;

namespace {

nlohmann::json vocab_of(const std::string& dir) { return attune::io::read_json(dir + "/vocab.json"); }

}  // namespace

TEST_CASE("MarianTokenizer takes ids from vocab.json and decodes its own ids", "[marian][tokenizer]") {
  const std::string dir = attune::testing::write_marian_tokenizer("marian-tok");
  const auto tok = attune::text::MarianTokenizer::load(dir);
  const nlohmann::json vocab = vocab_of(dir);
  CHECK(tok->vocab_size() == static_cast<int64_t>(vocab.size()));
  CHECK(tok->eos_id() == 0);
  CHECK(tok->unk_id() == 1);
  CHECK(tok->pad_id() == static_cast<int64_t>(vocab.size()) - 1);
  CHECK(tok->start_id() == tok->pad_id());
  CHECK(!tok->separate_vocabs());

  // Each id is vocab.json's id of the piece the .spm cut, which is not the .spm's own id.
  const auto source_spm = attune::text::SentencePieceTokenizer::load(dir + "/source.spm");
  const std::vector<std::string> pieces = source_spm->tokenize("one two three");
  const std::vector<int64_t> ids = tok->encode_source("one two three");
  REQUIRE(ids.size() == pieces.size());
  bool some_differ = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    CHECK(ids[i] == vocab.at(pieces[i]).get<int64_t>());
    some_differ = some_differ || ids[i] != source_spm->encode_plain("one two three")[i];
  }
  CHECK(some_differ);
  // The target side cuts with target.spm; decoding drops the special ids.
  std::vector<int64_t> target = tok->encode_target("eins zwei drei");
  CHECK(tok->decode_target(target) == "eins zwei drei");
  target.push_back(tok->eos_id());
  target.insert(target.begin(), tok->pad_id());
  CHECK(tok->decode_target(target) == "eins zwei drei");
  // A leading >>xx<< is one token: not in vocab.json, it is <unk>.
  const std::vector<int64_t> coded = tok->encode_source(">>de<< one");
  REQUIRE(coded.size() == tok->encode_source("one").size() + 1);
  CHECK(coded[0] == tok->unk_id());

  // save() keeps the folder's files and says "marian"; load_translation_tokenizer reads it back.
  const std::string saved = attune::testing::temp_dir("marian-tok-saved");
  tok->save(saved + "/tokenizer");
  const auto again = attune::text::load_translation_tokenizer(saved + "/tokenizer");
  CHECK(again->kind() == "marian");
  CHECK(again->encode_source("four five") == tok->encode_source("four five"));
  CHECK(again->encode_target("vier fuenf") == tok->encode_target("vier fuenf"));
  CHECK(attune::io::read_json(saved + "/tokenizer/tokenizer_config.json")["separate_vocabs"] == false);
}

TEST_CASE("MarianTokenizer refuses broken folders with one line naming the file and key", "[marian][tokenizer]") {
  const std::string dir = attune::testing::write_marian_tokenizer("marian-tok-bad");
  auto copy = [&](const std::string& name) {
    const std::string to = attune::testing::temp_dir(name);
    for (const char* f : {"source.spm", "target.spm", "vocab.json", "tokenizer_config.json"}) {
      fs::copy_file(dir + "/" + f, to + "/" + f);
    }
    return to;
  };
  const std::string no_spm = copy("marian-tok-no-spm");
  fs::remove(no_spm + "/target.spm");
  CHECK(error_of([&] { attune::text::MarianTokenizer::load(no_spm); }) ==
        no_spm + ": no target.spm (not a MarianTokenizer folder)");

  const std::string no_unk = copy("marian-tok-no-unk");
  nlohmann::json vocab = vocab_of(no_unk);
  const int64_t unk = vocab["<unk>"];
  vocab.erase("<unk>");
  vocab["<unk-renamed>"] = unk;
  std::ofstream(no_unk + "/vocab.json") << vocab.dump();
  CHECK(error_of([&] { attune::text::MarianTokenizer::load(no_unk); }) ==
        no_unk + "/vocab.json: has no unk_token token '<unk>'");

  const std::string bad_id = copy("marian-tok-bad-id");
  vocab = vocab_of(bad_id);
  vocab["<unk>"] = "one";
  std::ofstream(bad_id + "/vocab.json") << vocab.dump();
  CHECK(error_of([&] { attune::text::MarianTokenizer::load(bad_id); }).find(bad_id + "/vocab.json: token '<unk>' has id \"one\"") == 0);

  const std::string separate = copy("marian-tok-separate");
  std::ofstream(separate + "/tokenizer_config.json") << R"({"separate_vocabs": true})";
  CHECK(error_of([&] { attune::text::MarianTokenizer::load(separate); }) ==
        separate + ": no target_vocab.json (not a MarianTokenizer folder)");
  std::ofstream(separate + "/target_vocab.json") << R"({"</s>": 0, "<unk>": 1, "<pad>": 2})";
  CHECK(error_of([&] { attune::text::MarianTokenizer::load(separate); }).find(separate + "/target_vocab.json: has 3 tokens") == 0);
  std::ofstream(separate + "/tokenizer_config.json") << R"({"separate_vocabs": "yes"})";
  CHECK(error_of([&] { attune::text::MarianTokenizer::load(separate); }) ==
        separate + "/tokenizer_config.json: separate_vocabs: expected true or false, got \"yes\"");
}

TEST_CASE("MarianTokenizer ids and decoding equal transformers' on the fixtures", "[marian][tokenizer][fixtures]") {
  for (const std::string& dir : attune::testing::marian_fixture_dirs()) {
    const nlohmann::json expected = attune::io::read_json(dir + "/expected.json");
    const auto tok = attune::text::MarianTokenizer::load(dir);
    for (const auto& probe : expected["probes"]) {
      const std::string text = probe["text"];
      INFO(dir << ": " << text);
      std::vector<int64_t> source = tok->encode_source(text), target = tok->encode_target(text);
      source.push_back(tok->eos_id());
      target.push_back(tok->eos_id());
      CHECK(source == probe["source_ids"].get<std::vector<int64_t>>());
      CHECK(target == probe["target_ids"].get<std::vector<int64_t>>());
      CHECK(tok->decode_target(probe["target_ids"].get<std::vector<int64_t>>()) == probe["decoded_target"].get<std::string>());
    }
  }
}
