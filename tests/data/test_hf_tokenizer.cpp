#include "core/files.h"
#include "data/text/hf_tokenizer.h"
#include "tests/catch.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

using namespace attune;

namespace {

void write_vocab(const std::string& dir) {
  io::write_file_atomic(dir + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ncafe\ncafé\nCafé\n中\n文\n");
}

}  // namespace

TEST_CASE("BertTokenizer's tokenizer_config.json settings reach attune's WordPiece", "[hf_tokenizer]") {
  const std::string dir = testing::temp_dir("hf-tok");
  write_vocab(dir);
  SECTION("defaults without tokenizer_config.json: lower-case, strip accents") {
    const auto t = text::load_hf_bert_tokenizer(dir);
    CHECK(t.tokenizer->encode_plain("Café 中文") == std::vector<int64_t>{5, 8, 9});
    CHECK(t.model_max_length == 0);
  }
  SECTION("cased, accents kept, CJK not split, AddedToken specials") {
    io::write_json_atomic(dir + "/tokenizer_config.json",
                          nlohmann::json::parse(R"({"tokenizer_class": "BertTokenizer", "do_lower_case": false,
                            "strip_accents": null, "tokenize_chinese_chars": false, "model_max_length": 64,
                            "unk_token": {"content": "[UNK]", "lstrip": false}})"));
    const auto t = text::load_hf_bert_tokenizer(dir);
    CHECK(t.tokenizer->encode_plain("Café café") == std::vector<int64_t>{7, 6});
    CHECK(t.tokenizer->encode_plain("中文") == std::vector<int64_t>{1});
    CHECK(t.model_max_length == 64);
  }
  SECTION("transformers' 'no limit' model_max_length is no limit") {
    io::write_json_atomic(dir + "/tokenizer_config.json", {{"model_max_length", 1e30}});
    CHECK(text::load_hf_bert_tokenizer(dir).model_max_length == 0);
  }
  SECTION("save writes what load reads, and nothing transformers would misread") {
    text::WordPieceOptions options;
    options.basic.lowercase = false;
    options.basic.strip_accents = 1;
    options.basic.tokenize_chinese_chars = false;
    text::WordPieceTokenizer original({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "x"}, options, "test");
    text::save_hf_bert_tokenizer(original, dir + "/out", 128);
    const auto back = text::load_hf_bert_tokenizer(dir + "/out");
    CHECK(back.tokenizer->vocab() == original.vocab());
    CHECK(back.tokenizer->options().to_json() == original.options().to_json());
    CHECK(back.model_max_length == 128);
    const nlohmann::json config = io::read_json(dir + "/out/tokenizer_config.json");
    CHECK(config["tokenizer_class"] == "BertTokenizer");
    CHECK(config["do_lower_case"] == false);
    CHECK(io::read_json(dir + "/out/special_tokens_map.json")["mask_token"] == "[MASK]");
  }
}

TEST_CASE("tokenizer settings attune cannot follow are one-line errors", "[hf_tokenizer][errors]") {
  const std::string dir = testing::temp_dir("hf-tok-bad");
  CHECK(testing::error_of([&] { text::load_hf_bert_tokenizer(dir); }).rfind(dir + ": no vocab.txt", 0) == 0);
  write_vocab(dir);
  auto error_with = [&](const nlohmann::json& config) {
    io::write_json_atomic(dir + "/tokenizer_config.json", config);
    return testing::error_of([&] { text::load_hf_bert_tokenizer(dir); });
  };
  const std::string path = dir + "/tokenizer_config.json";
  CHECK(error_with({{"tokenizer_class", "RobertaTokenizer"}}).rfind(path + ": tokenizer_class: only BertTokenizer", 0) == 0);
  CHECK(error_with({{"do_basic_tokenize", false}}).rfind(path + ": do_basic_tokenize: false is not supported", 0) == 0);
  CHECK(error_with({{"unk_token", "<unk>"}}) == path + ": unk_token: attune's WordPiece uses [UNK], got '<unk>'");
  CHECK(error_with({{"do_lower_case", "yes"}}) == path + ": do_lower_case: must be true or false, got \"yes\"");
}
