// sentencepiece .model files read without the sentencepiece library (spm_model_proto.h), and
// XLM-R's and CamemBERT's sentencepiece.bpe.model-only folders read as transformers 5 reads them
// (spm_folder_tokenizer.h).
#include "core/files.h"
#include "data/text/hf_folder_tokenizer.h"
#include "data/text/spm_library.h"
#include "data/text/spm_model_proto.h"
#include "tests/catch.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <filesystem>

using namespace attune;
namespace fs = std::filesystem;

namespace spm_folder_test {

const std::string kFixtures = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures";

}  // namespace spm_folder_test

using namespace spm_folder_test;

TEST_CASE("a sentencepiece model's pieces, scores and charsmap read as sentencepiece reads them", "[spm]") {
  const std::string path = kFixtures + "/xlmr_spm/sentencepiece.bpe.model";
  const text::SpmModelProto proto = text::read_spm_model_proto(path);
  const text::SpmModel library(path);
  REQUIRE(static_cast<int64_t>(proto.pieces.size()) == library.piece_size());
  for (size_t i = 0; i < proto.pieces.size(); ++i) CHECK(proto.pieces[i].piece == library.id_to_piece(i));
  CHECK(proto.pieces[0].type == 2);  // <unk>
  CHECK(proto.pieces[1].type == 3);  // <s>, a control symbol
  CHECK(proto.pieces[5].type == 1);
  CHECK(proto.pieces[5].score < 0);
  CHECK(proto.model_type == 1);
  CHECK(proto.normalizer_name == "nmt_nfkc");
  CHECK(!proto.precompiled_charsmap.empty());

  const std::string dir = testing::temp_dir("spm-proto");
  io::write_file_atomic(dir + "/bad.model", std::string("\x0a\xff\xff\xff", 4));
  CHECK(testing::error_of([&] { text::read_spm_model_proto(dir + "/bad.model"); }) ==
        dir + "/bad.model: not a sentencepiece model: truncated protobuf message");
  io::write_file_atomic(dir + "/empty.model", "");
  CHECK(testing::error_of([&] { text::read_spm_model_proto(dir + "/empty.model"); }) ==
        dir + "/empty.model: not a sentencepiece model: no pieces");
}

TEST_CASE("sentencepiece.bpe.model-only folders take fairseq's ids, as XLMRobertaTokenizer and CamembertTokenizer",
          "[spm]") {
  const text::SpmModel library(kFixtures + "/xlmr_spm/sentencepiece.bpe.model");
  const int64_t pieces = library.piece_size();
  const text::HfFolderTokenizer xlmr = text::load_hf_folder_tokenizer(kFixtures + "/xlmr_spm");
  CHECK(xlmr.source == "sentencepiece.bpe.model");
  CHECK(xlmr.model_max_length == 512);
  // <s> <pad> </s> <unk>, the model's pieces from its fourth on (one up), <mask> last.
  CHECK(xlmr.tokenizer->vocab_size() == pieces + 2);
  CHECK(xlmr.tokenizer->cls_id() == 0);
  CHECK(xlmr.tokenizer->pad_id() == 1);
  CHECK(xlmr.tokenizer->sep_id() == 2);
  CHECK(xlmr.tokenizer->unk_id() == 3);
  CHECK(xlmr.tokenizer->mask_id() == pieces + 1);
  CHECK(xlmr.tokenizer->id_to_token(10) == library.id_to_piece(9));

  // CamemBERT: <s>NOTUSED <pad> </s>NOTUSED <unk> <unk>NOTUSED, then every piece from the
  // model's second (four up): its <s> and </s> are 5 and 6.
  const text::HfFolderTokenizer camembert = text::load_hf_folder_tokenizer(kFixtures + "/camembert_spm");
  CHECK(camembert.tokenizer->vocab_size() == pieces + 5);
  CHECK(camembert.tokenizer->cls_id() == 5);
  CHECK(camembert.tokenizer->sep_id() == 6);
  CHECK(camembert.tokenizer->pad_id() == 1);
  CHECK(camembert.tokenizer->unk_id() == 3);
  CHECK(camembert.tokenizer->mask_id() == pieces + 4);
  CHECK(camembert.tokenizer->id_to_token(10) == library.id_to_piece(6));

  // The same pieces between the specials, four apart.
  const std::string text = "Hello world, this is a test.";
  const auto a = xlmr.tokenizer->encode(text, nullptr, 512).ids;
  const auto b = camembert.tokenizer->encode(text, nullptr, 512).ids;
  REQUIRE(a.size() == b.size());
  CHECK(a.front() == 0);
  CHECK(b.front() == 5);
  for (size_t i = 1; i + 1 < a.size(); ++i) CHECK(b[i] == a[i] + 3);

  // A folder whose tokenizer class is neither fails naming it.
  const std::string dir = testing::temp_dir("spm-folder");
  fs::copy_file(kFixtures + "/xlmr_spm/sentencepiece.bpe.model", dir + "/sentencepiece.bpe.model");
  io::write_file_atomic(dir + "/tokenizer_config.json", R"({"tokenizer_class": "AlbertTokenizer"})");
  CHECK(testing::error_of([&] { text::load_hf_folder_tokenizer(dir); }) ==
        dir + ": sentencepiece.bpe.model is read as XLMRobertaTokenizer or CamembertTokenizer, not 'AlbertTokenizer'");
  io::write_file_atomic(dir + "/tokenizer_config.json", R"({"tokenizer_class": "XLMRobertaTokenizer", "add_prefix_space": false})");
  CHECK(testing::error_of([&] { text::load_hf_folder_tokenizer(dir); }) ==
        dir + "/tokenizer_config.json: add_prefix_space: false is not supported (transformers' default, true, is)");
  // transformers reads these models as Unigram only; a BPE model is refused by name.
  io::write_file_atomic(dir + "/tokenizer_config.json", R"({"tokenizer_class": "XLMRobertaTokenizer"})");
  fs::copy_file(kFixtures + "/spm_bpe/bpe.model", dir + "/sentencepiece.bpe.model", fs::copy_options::overwrite_existing);
  CHECK(testing::error_of([&] { text::load_hf_folder_tokenizer(dir); }) ==
        dir + "/sentencepiece.bpe.model: is not a unigram model (model_type 2)");
}

TEST_CASE("sentencepiece.bpe.model-only folders give transformers' ids for texts and pairs", "[spm]") {
  // expected.json: what AutoTokenizer made of the same folder in transformers 5.17
  // (tools/parity/spm_folder_reference.py); the whole corpus is compared by spm_folder_parity.py.
  for (const std::string name : {"xlmr_spm", "camembert_spm"}) {
    INFO(name);
    const nlohmann::json expected = io::read_json(kFixtures + "/" + name + "/expected.json");
    const text::HfFolderTokenizer tok = text::load_hf_folder_tokenizer(kFixtures + "/" + name);
    CHECK(tok.tokenizer->vocab_size() == expected["vocab_size"].get<int64_t>());
    REQUIRE(expected["singles"].size() >= 10);
    for (const auto& s : expected["singles"]) {
      const std::string text = s["text"].get<std::string>();
      INFO(text);
      CHECK(tok.tokenizer->encode(text, nullptr, 100000).ids == s["ids"].get<std::vector<int64_t>>());
    }
    for (const auto& p : expected["pairs"]) {
      const std::string text = p["text"].get<std::string>(), pair = p["pair"].get<std::string>();
      INFO(text << " / " << pair);
      CHECK(tok.tokenizer->encode(text, &pair, 100000).ids == p["ids"].get<std::vector<int64_t>>());
    }
  }
}
