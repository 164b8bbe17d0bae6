#include "core/files.h"
#include "models/bert/hf_checkpoint.h"
#include "models/common/hf_labels.h"
#include "tests/catch.h"
#include "tests/common/hf_fixture.h"
#include "tests/common/synthetic.h"
#include "tests/models/reference.h"

#include <filesystem>

namespace fs = std::filesystem;
using namespace attune;
using models::HfBertArchitecture;
using testing::user_error_message;

namespace {

std::map<std::string, torch::Tensor> as_map(const formats::NamedTensors& tensors) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& [name, t] : tensors) m[name] = t;
  return m;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("write_hf_bert and read_hf_bert round-trip every architecture exactly", "[hf]") {
  for (auto arch : {HfBertArchitecture::kBertModel, HfBertArchitecture::kSequenceClassification,
                    HfBertArchitecture::kMaskedLM}) {
    const std::string dir = testing::temp_dir("hf-roundtrip");
    const auto written = as_map(testing::write_hf_fixture(dir, arch));
    const nlohmann::json config = io::read_json(dir + "/config.json");
    CHECK(config["architectures"] == nlohmann::json::array({models::hf_architecture_name(arch)}));
    CHECK(config["model_type"] == "bert");
    CHECK(config["dtype"] == "float32");
    CHECK_FALSE(config.contains("pre_layer_norm"));
    const models::HfBertCheckpoint ck = models::read_hf_bert(dir);
    CHECK(ck.architecture == arch);
    CHECK(ck.notes.empty());
    // The encoder always comes back under "bert.", whatever the file's prefix.
    REQUIRE(ck.tensors.names.size() == written.size());
    for (const auto& [name, t] : written) {
      const std::string ours = arch == HfBertArchitecture::kBertModel ? "bert." + name : name;
      INFO(name);
      REQUIRE(ck.tensors.tensors.count(ours));
      CHECK(torch::equal(ck.tensors.tensors.at(ours), t));
    }
    if (arch == HfBertArchitecture::kSequenceClassification) {
      CHECK(ck.labels == std::vector<std::string>{"food", "sport", "tech"});
    }
    CHECK(ck.options.add_pooling_layer() == (arch != HfBertArchitecture::kMaskedLM));
    // transformers' save_pretrained drops the tied decoder; so does the export.
    CHECK_FALSE(written.count("cls.predictions.decoder.weight"));
  }
}

TEST_CASE("a hand-written HF folder with legacy names, no prefix and unused heads loads", "[hf]") {
  const std::string dir = testing::temp_dir("hf-legacy");
  // Old-style pre-training checkpoint: LayerNorm gamma/beta, encoder keys without "bert.",
  // the tied decoder stored explicitly, a next-sentence head, a pooler and position_ids.
  const auto source = as_map(testing::write_hf_fixture(dir, HfBertArchitecture::kMaskedLM));
  formats::NamedTensors legacy;
  for (const auto& [name, t] : source) {
    std::string n = name.rfind("bert.", 0) == 0 ? name.substr(5) : name;
    const auto swap = [&](const std::string& from, const std::string& to) {
      if (n.size() >= from.size() && n.compare(n.size() - from.size(), from.size(), from) == 0) {
        n = n.substr(0, n.size() - from.size()) + to;
      }
    };
    swap("LayerNorm.weight", "LayerNorm.gamma");
    swap("LayerNorm.bias", "LayerNorm.beta");
    legacy.emplace_back(n, t);
  }
  legacy.emplace_back("cls.predictions.decoder.weight", source.at("bert.embeddings.word_embeddings.weight").clone());
  legacy.emplace_back("cls.seq_relationship.weight", torch::randn({2, 16}));
  legacy.emplace_back("cls.seq_relationship.bias", torch::randn({2}));
  legacy.emplace_back("pooler.dense.weight", torch::randn({16, 16}));
  legacy.emplace_back("pooler.dense.bias", torch::randn({16}));
  legacy.emplace_back("embeddings.position_ids", torch::arange(40).unsqueeze(0));
  formats::save_safetensors(dir + "/model.safetensors", legacy);
  io::write_json_atomic(dir + "/config.json", nlohmann::json::parse(R"({
    "architectures": ["BertForPreTraining"], "model_type": "bert", "vocab_size": 41, "hidden_size": 16,
    "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32, "hidden_act": "gelu",
    "max_position_embeddings": 40, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
    "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
    "position_embedding_type": "absolute", "use_cache": true, "transformers_version": "4.6.0.dev0"})"));

  const models::HfBertCheckpoint ck = models::read_hf_bert(dir);
  CHECK(ck.architecture == HfBertArchitecture::kMaskedLM);
  std::string notes;
  for (const auto& n : ck.notes) notes += n + "\n";
  CHECK(contains(notes, "cls.seq_relationship.weight"));
  CHECK(contains(notes, "cls.predictions.decoder.weight"));
  CHECK(contains(notes, "pooler.dense.weight"));
  CHECK(contains(notes, "embeddings.position_ids"));
  models::BertForMaskedLM model(ck.options);
  formats::load_module_tensors(*model, ck.tensors, "legacy");
  models::BertForMaskedLM reference(ck.options);
  formats::SafetensorsFile original;
  for (const auto& [name, t] : source) {
    original.names.push_back(name);
    original.tensors[name] = t;
  }
  formats::load_module_tensors(*reference, original, "source");
  model->eval();
  reference->eval();
  const torch::Tensor ids = torch::randint(5, 41, {2, 7});
  const torch::Tensor types = torch::randint(0, 2, {2, 7});
  const torch::Tensor mask = torch::tensor({{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0}});
  CHECK(torch::equal(model->forward(ids, types, mask), reference->forward(ids, types, mask)));

  SECTION("an untied decoder is refused by name") {
    for (auto& [name, t] : legacy) {
      if (name == "cls.predictions.decoder.weight") t = t + 1;
    }
    formats::save_safetensors(dir + "/model.safetensors", legacy);
    CHECK(contains(user_error_message([&] { models::read_hf_bert(dir); }),
                   "model.safetensors: tensor 'cls.predictions.decoder.weight' differs from the word embeddings"));
  }
}

TEST_CASE("bad HF folders fail with one line naming the file and key", "[hf][errors]") {
  const std::string dir = testing::temp_dir("hf-bad");
  const formats::NamedTensors good = testing::write_hf_fixture(dir, HfBertArchitecture::kSequenceClassification);
  const nlohmann::json config = io::read_json(dir + "/config.json");
  auto error = [&] { return user_error_message([&] { models::read_hf_bert(dir); }); };
  auto with_tensors = [&](const std::function<void(formats::NamedTensors&)>& edit) {
    formats::NamedTensors t = good;
    edit(t);
    formats::save_safetensors(dir + "/model.safetensors", t);
  };
  auto with_config = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json c = config;
    c[key] = value;
    io::write_json_atomic(dir + "/config.json", c);
  };

  SECTION("missing tensor") {
    with_tensors([](formats::NamedTensors& t) { t.erase(t.begin() + 3); });
    const std::string e = error();
    CHECK(contains(e, dir + "/model.safetensors: tensor 'bert.embeddings.LayerNorm.weight' missing"));
    CHECK(contains(e, "BertForSequenceClassification"));
  }
  SECTION("shape mismatch") {
    with_tensors([](formats::NamedTensors& t) { t.back().second = torch::zeros({4}); });
    CHECK(error() == dir + "/model.safetensors: tensor 'classifier.bias' has shape [4], config.json implies [3]");
  }
  SECTION("unexpected tensor") {
    with_tensors([](formats::NamedTensors& t) { t.emplace_back("bert.encoder.layer.0.extra", torch::zeros({2})); });
    CHECK(error() == dir + "/model.safetensors: tensor 'bert.encoder.layer.0.extra' not part of a Hugging Face "
                           "BertForSequenceClassification");
  }
  SECTION("config values transformers' BERT has but attune does not") {
    with_config("hidden_act", "mish");
    CHECK(error().rfind(dir + ": config.json.hidden_act: unknown activation 'mish'", 0) == 0);
    with_config("position_embedding_type", "relative_key");
    CHECK(error().rfind(dir + ": config.json.position_embedding_type: only 'absolute'", 0) == 0);
    with_config("is_decoder", true);
    CHECK(error() == dir + ": config.json.is_decoder: decoder BERT is not supported");
    with_config("model_type", "gpt2");
    CHECK(error() == dir + ": config.json.model_type: unsupported model_type 'gpt2' (supported: bert, roberta, "
                           "xlm-roberta, camembert, distilbert, electra)");
    with_config("model_type", "roberta");  // a BERT class under another model_type
    CHECK(error().rfind(dir + "/config.json: architectures: unsupported architecture 'BertForSequenceClassification' "
                              "for model_type 'roberta'", 0) == 0);
    with_config("architectures", nlohmann::json::array({"BertForTokenClassification"}));
    CHECK(error().rfind(dir + "/config.json: architectures: unsupported architecture 'BertForTokenClassification'", 0) == 0);
    with_config("problem_type", "multi_label_classification");
    CHECK(error().rfind(dir + "/config.json: problem_type: only single_label_classification", 0) == 0);
  }
  SECTION("no safetensors") {
    fs::remove(dir + "/model.safetensors");
    CHECK(error() == dir + ": no model.safetensors");
    std::ofstream(dir + "/pytorch_model.bin") << "pickle";
    CHECK(error().rfind(dir + ": has pytorch_model.bin but no model.safetensors; convert it to safetensors", 0) == 0);
    io::remove_tree(dir);
    CHECK(error() == dir + ": not a directory (expected a Hugging Face checkpoint folder)");
  }
}

TEST_CASE("pre-LN models cannot be written as HF BERT", "[hf][errors]") {
  const std::string dir = testing::temp_dir("hf-preln");
  models::BertModel model(testing::hf_fixture_options().pre_layer_norm(true));
  CHECK(user_error_message([&] {
          models::write_hf_bert(dir + "/out", HfBertArchitecture::kBertModel, model->options(),
                                formats::module_tensors(*model));
        }).rfind(dir + "/out: pre-LN BERT", 0) == 0);
  CHECK_FALSE(fs::exists(dir + "/out"));
}

TEST_CASE("id2label is read and written the same way for every architecture", "[hf]") {
  using nlohmann::json;
  const json config = {{"id2label", {{"1", "sport"}, {"0", "food"}, {"2", "tech"}}}};
  CHECK(models::read_id2label(config, "c.json") == std::vector<std::string>{"food", "sport", "tech"});
  CHECK(models::read_id2label(json::object(), "c.json").empty());
  CHECK(models::read_id2label({{"id2label", nullptr}}, "c.json").empty());
  const json maps = models::label_maps({"food", "sport", "tech"});
  CHECK(maps["id2label"] == config["id2label"]);
  CHECK(maps["label2id"] == json{{"food", 0}, {"sport", 1}, {"tech", 2}});
  CHECK(models::read_id2label(maps, "c.json") == std::vector<std::string>{"food", "sport", "tech"});

  const auto error = [](const json& id2label) {
    return user_error_message([&] { models::read_id2label({{"id2label", id2label}}, "c.json"); });
  };
  CHECK(contains(error(json::array({"a"})), "c.json: id2label: must be a non-empty object"));
  CHECK(contains(error(json::object()), "c.json: id2label: must be a non-empty object"));
  for (const json& bad : {json{{"0", "a"}, {"2", "b"}}, json{{"0", "a"}, {"1a", "b"}}, json{{"0", "a"}, {"1", 7}},
                          json{{"0", "a"}, {"1", ""}}, json{{"0", "a"}, {"-1", "b"}}}) {
    INFO(bad.dump());
    CHECK(contains(error(bad), "c.json: id2label: must map the ids 0..1 to non-empty label names"));
  }
  CHECK(contains(error({{"0", "a"}, {"1", "a"}}), "c.json: id2label: label names must be distinct"));
}
