#include "core/files.h"
#include "data/text/hf_tokenizer.h"
#include "data/text/hf_tokenizer_json/hf_json_tokenizer.h"
#include "tasks/classification/run_model.h"
#include "tasks/classification/hf_bundle.h"
#include "tasks/classification/hf_convert.h"
#include "tests/catch.h"
#include "tests/common/errors.h"
#include "tests/common/hf_fixture.h"
#include "tests/common/synthetic.h"

#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using namespace attune;
using models::HfBertArchitecture;

namespace {

struct Inputs {
  torch::Tensor ids, types, mask;
};

// A padded batch with both token types.
Inputs batch() {
  torch::manual_seed(3);
  Inputs in;
  in.ids = torch::randint(5, 41, {3, 9});
  in.types = torch::cat({torch::zeros({3, 5}, torch::kLong), torch::ones({3, 4}, torch::kLong)}, 1);
  in.mask = torch::ones({3, 9}, torch::kLong);
  in.mask.index_put_({1, torch::indexing::Slice(6, torch::indexing::None)}, 0);
  in.mask.index_put_({2, torch::indexing::Slice(3, torch::indexing::None)}, 0);
  return in;
}

hf::BertForwardOutput run(const std::string& source) {
  std::ostringstream log;
  hf::BertBundle b = hf::load_bert_bundle(source, log);
  b.module->eval();
  torch::NoGradGuard no_grad;
  const Inputs in = batch();
  return hf::bert_bundle_forward(b, in.ids, in.types, in.mask);
}

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.defined() == b.defined() && (!a.defined() || torch::equal(a, b));
}

}  // namespace

TEST_CASE("HF -> attune -> HF gives the same outputs and byte-identical weights", "[hf]") {
  for (auto arch : {HfBertArchitecture::kBertModel, HfBertArchitecture::kSequenceClassification,
                    HfBertArchitecture::kMaskedLM}) {
    INFO(models::hf_architecture_name(arch));
    const std::string dir = testing::temp_dir("hf-convert");
    testing::write_hf_fixture(dir + "/hf", arch);
    std::ostringstream log;
    const nlohmann::json imported = hf::import_hf(dir + "/hf", dir + "/run", log);
    CHECK(imported["architecture"] == models::hf_architecture_name(arch));
    hf::export_hf(dir + "/run", dir + "/back", false, log);

    const hf::BertForwardOutput a = run("hf:" + dir + "/hf"), b = run(dir + "/run"), c = run("hf:" + dir + "/back");
    CHECK(same(a.last_hidden_state, b.last_hidden_state));
    CHECK(same(a.pooler_output, b.pooler_output));
    CHECK(same(a.logits, b.logits));
    CHECK(same(a.logits, c.logits));
    CHECK(same(a.last_hidden_state, c.last_hidden_state));
    CHECK(a.logits.defined() == (arch != HfBertArchitecture::kBertModel));
    CHECK(io::read_file(dir + "/hf/model.safetensors") == io::read_file(dir + "/back/model.safetensors"));
    CHECK(io::read_file(dir + "/hf/vocab.txt") == io::read_file(dir + "/back/vocab.txt"));
    const nlohmann::json before = io::read_json(dir + "/hf/config.json"), after = io::read_json(dir + "/back/config.json");
    for (const char* key : {"architectures", "hidden_size", "num_hidden_layers", "vocab_size", "hidden_act"}) {
      CHECK(before[key] == after[key]);
    }
    if (arch == HfBertArchitecture::kSequenceClassification) {
      CHECK(after["id2label"] == nlohmann::json{{"0", "food"}, {"1", "sport"}, {"2", "tech"}});
      CHECK(after["label2id"]["tech"] == 2);
      CHECK(after["num_labels"] == 3);
      CHECK(after["problem_type"] == "single_label_classification");
      // The converted run is an ordinary classification run.
      const classification::LoadedRun loaded = classification::load_run(dir + "/run", {}, "cpu");
      CHECK(loaded.labels == std::vector<std::string>{"food", "sport", "tech"});
      CHECK(loaded.max_length == 32);
      CHECK(io::read_json(dir + "/run/config.json")["head"]["pooling"] == "cls");
    } else {
      CHECK(io::read_json(dir + "/run/config.json")["architecture"] == models::hf_architecture_name(arch));
    }
    CHECK(fs::exists(dir + "/back/special_tokens_map.json"));
    // tokenizer.json, as BertTokenizer saves it, gives vocab.txt's ids.
    const auto json_tokenizer = text::HfJsonTokenizer::load(dir + "/back/tokenizer.json");
    const text::HfBertTokenizer vocab_tokenizer = text::load_hf_bert_tokenizer(dir + "/back");
    for (const std::string text : {"Hello, World! Ünïcode café 日本語", "", "  spaced\ttext  ", "tokenization"}) {
      const std::string pair = "a second text";
      CHECK(json_tokenizer->encode(text, &pair, 64).ids == vocab_tokenizer.tokenizer->encode(text, &pair, 64).ids);
      CHECK(json_tokenizer->encode(text, nullptr, 64).type_ids == vocab_tokenizer.tokenizer->encode(text, nullptr, 64).type_ids);
    }
  }
}

TEST_CASE("init=hf:DIR and a converted encoder start a classifier from the same weights", "[hf]") {
  const std::string dir = testing::temp_dir("hf-init");
  const formats::NamedTensors written = testing::write_hf_fixture(dir + "/hf", HfBertArchitecture::kMaskedLM);
  std::ostringstream log;
  hf::import_hf(dir + "/hf", dir + "/enc", log);
  const classification::InitEncoder direct = classification::load_init_encoder("hf:" + dir + "/hf");
  const classification::InitEncoder converted = classification::load_init_encoder(dir + "/enc");
  CHECK(direct.model_config == converted.model_config);
  CHECK(direct.tokenizer->vocab_size() == 41);
  CHECK_FALSE(direct.weights.tensors.count("pooler.dense.weight"));  // a masked LM has none
  for (const auto& [name, t] : written) {
    if (name.rfind("bert.", 0) != 0) continue;
    INFO(name);
    REQUIRE(direct.weights.tensors.count(name.substr(5)));
    CHECK(torch::equal(direct.weights.tensors.at(name.substr(5)), t));
    CHECK(torch::equal(converted.weights.tensors.at(name.substr(5)), t));
  }
  // The pooler the checkpoint lacks starts fresh instead of failing the load.
  nlohmann::json config = classification::default_config();
  config["head"] = {{"pooling", "cls"}, {"dropout", 0.1}};
  config["data"]["max_length"] = 16;
  config["model"] = direct.model_config;
  const classification::RunModel model =
      classification::build_run_model(classification::parse_config(config), 41, 2, "", &direct.weights);
  CHECK(torch::equal(model.model->named_parameters()["bert.embeddings.word_embeddings.weight"],
                     direct.weights.tensors.at("embeddings.word_embeddings.weight")));
}

TEST_CASE("export refuses what transformers' BERT cannot express", "[hf][errors]") {
  const std::string dir = testing::temp_dir("hf-refuse");
  testing::write_hf_fixture(dir + "/hf", HfBertArchitecture::kSequenceClassification);
  std::ostringstream log;
  hf::import_hf(dir + "/hf", dir + "/run", log);
  auto export_error = [&](const std::string& run, bool encoder_only = false) {
    return testing::error_of([&] { hf::export_hf(run, dir + "/out", encoder_only, log); });
  };

  SECTION("mean pooling, unless only the encoder is asked for") {
    nlohmann::json config = io::read_json(dir + "/run/config.json");
    config["head"]["pooling"] = "mean";
    io::write_json_atomic(dir + "/run/config.json", config);
    CHECK(export_error(dir + "/run").rfind(dir + "/run: head.pooling 'mean' has no Hugging Face counterpart", 0) == 0);
    CHECK_FALSE(fs::exists(dir + "/out"));
    hf::export_hf(dir + "/run", dir + "/out", true, log);
    CHECK(io::read_json(dir + "/out/config.json")["architectures"] == nlohmann::json::array({"BertModel"}));
  }
  SECTION("pre-LN") {
    models::BertModel model(testing::hf_fixture_options().pre_layer_norm(true));
    fs::create_directories(dir + "/preln");
    fs::copy(dir + "/run/tokenizer", dir + "/preln/tokenizer");
    io::write_json_atomic(dir + "/preln/config.json", {{"model", model->config()}});
    formats::save_safetensors(dir + "/preln/model.safetensors", formats::module_tensors(*model));
    CHECK(export_error(dir + "/preln").rfind(dir + "/preln: pre-LN BERT", 0) == 0);
  }
  SECTION("non-empty output, unmerged PEFT, non-BERT") {
    fs::create_directories(dir + "/out");
    std::ofstream(dir + "/out/x") << "x";
    CHECK(export_error(dir + "/run") == dir + "/out: output directory exists and is not empty");
    io::remove_tree(dir + "/out");
    nlohmann::json config = io::read_json(dir + "/run/config.json");
    config["peft"]["method"] = "lora";
    io::write_json_atomic(dir + "/run/config.json", config);
    CHECK(export_error(dir + "/run").rfind(dir + "/run: a PEFT run holds only its adapter", 0) == 0);
    config["model"]["name"] = "gpt";
    io::write_json_atomic(dir + "/run/config.json", config);
    CHECK(export_error(dir + "/run").rfind(dir + "/run/config.json: model.name: only BERT-family, ModernBERT and DeBERTa models", 0) == 0);
  }
}
