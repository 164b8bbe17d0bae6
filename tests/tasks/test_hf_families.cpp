// ModernBERT and DeBERTa across the Hugging Face bridge: convert --from-hf and --to-hf with
// byte-identical weights and equal outputs for each architecture, fine-tuning from
// init=hf:DIR, and one-line errors for folders attune cannot read. transformers' own
// numerics are test_models' "[modernbert][fixtures]" and "[deberta][fixtures]".
#include "core/config.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "data/text/hf_folder_tokenizer.h"
#include "data/text/wordpiece.h"
#include "models/deberta/deberta.h"
#include "models/deberta/hf_checkpoint.h"
#include "models/deberta/masked_lm.h"
#include "models/modernbert/hf_checkpoint.h"
#include "models/modernbert/hf_names.h"
#include "models/modernbert/masked_lm.h"
#include "models/modernbert/modernbert.h"
#include "models/peft/targets.h"
#include "tasks/classification/export.h"
#include "tasks/classification/hf_bundle.h"
#include "tasks/classification/hf_convert.h"
#include "tasks/classification/run_model.h"
#include "tasks/classification/task.h"
#include "tasks/engine/settings.h"
#include "tasks/registry.h"
#include "tests/catch.h"
#include "tests/common/errors.h"
#include "tests/common/hf_arch_tokenizer.h"
#include "tests/common/hf_fixture.h"
#include "tests/common/synthetic.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using namespace attune;
using models::HfBertArchitecture;

namespace hf_families_test {

models::ModernBertOptions tiny_options() {
  return models::ModernBertOptions()
      .vocab_size(static_cast<int64_t>(testing::hf_fixture_vocab().size()))
      .hidden_size(16)
      .intermediate_size(12)
      .num_hidden_layers(3)
      .num_attention_heads(2)
      .max_position_embeddings(64)
      .local_attention(4)
      .pad_token_id(0);
}

// Labels of the classifier folders, as transformers writes them.
nlohmann::json label_extra() {
  return {{"id2label", {{"0", "food"}, {"1", "sport"}, {"2", "tech"}}}, {"label2id", {{"food", 0}, {"sport", 1}, {"tech", 2}}}};
}

// A transformers-layout folder of `family` ("modernbert", "deberta") for `architecture`,
// from attune's own modules with every tensor moved off its initial value, with the
// fixture's WordPiece vocabulary. Returns transformers' class name.
// padding_rows: embedding rows past the tokenizer's last id, as checkpoints on the Hub pad theirs.
std::string write_folder(const std::string& family, const std::string& dir, HfBertArchitecture architecture,
                         int64_t padding_rows = 0) {
  torch::manual_seed(11);
  const int64_t vocab = static_cast<int64_t>(testing::hf_fixture_vocab().size()) + padding_rows;
  const bool seqcls = architecture == HfBertArchitecture::kSequenceClassification;
  formats::NamedTensors tensors;
  if (family == "modernbert") {
    models::ModernBertOptions options = tiny_options().vocab_size(vocab);
    if (architecture == HfBertArchitecture::kMaskedLM) {
      tensors = formats::module_tensors(*models::ModernBertForMaskedLM(options));
    } else if (architecture == HfBertArchitecture::kBertModel) {
      tensors = formats::module_tensors(*models::ModernBertModel(options.add_head(false)));
    } else {
      for (auto& [n, t] : formats::module_tensors(*models::ModernBertModel(options))) tensors.emplace_back("modernbert." + n, t);
    }
  } else {
    models::DebertaV2Options options =
        models::deberta_v3_options(vocab, 16, 2, 2, 24).max_position_embeddings(64).position_buckets(8).pad_token_id(0);
    if (architecture == HfBertArchitecture::kMaskedLM) {
      tensors = formats::module_tensors(*models::DebertaV2ForMaskedLM(options));
    } else if (architecture == HfBertArchitecture::kBertModel) {
      tensors = formats::module_tensors(*models::DebertaV2Model(options.add_pooling_layer(false)));
    } else {
      for (auto& [n, t] : formats::module_tensors(*models::DebertaV2Model(options))) tensors.emplace_back("deberta." + n, t);
    }
  }
  if (seqcls) {
    const int64_t hidden = 16;
    tensors.emplace_back("classifier.weight", torch::randn({3, hidden}));
    tensors.emplace_back("classifier.bias", torch::randn({3}));
  }
  testing::perturb(tensors);
  const nlohmann::json extra = seqcls ? label_extra() : nlohmann::json::object();
  std::string name;
  if (family == "modernbert") {
    models::write_hf_modernbert(dir, architecture, tiny_options().vocab_size(vocab), tensors, extra);
    name = models::modernbert_class_name(architecture);
  } else {
    models::write_hf_deberta(dir, architecture,
                             models::deberta_v3_options(vocab, 16, 2, 2, 24).max_position_embeddings(64).position_buckets(8).pad_token_id(0),
                             tensors, extra);
    name = models::deberta_class_name(architecture);
  }
  text::WordPieceTokenizer tokenizer(testing::hf_fixture_vocab(), text::WordPieceOptions(), "fixture");
  text::save_hf_bert_tokenizer(tokenizer, dir, 32);
  return name;
}

hf::BertForwardOutput forward(const std::string& source) {
  std::ostringstream log;
  hf::BertBundle b = hf::load_bert_bundle(source, log);
  b.module->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  const torch::Tensor ids = torch::randint(5, 41, {2, 9});
  torch::Tensor mask = torch::ones({2, 9}, torch::kLong);
  mask.index_put_({1, torch::indexing::Slice(5, torch::indexing::None)}, 0);
  return hf::bert_bundle_forward(b, ids, {}, mask);
}

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  return a.defined() == b.defined() && (!a.defined() || torch::equal(a, b));
}

// A classification run of `family` on the classifier imported into run_dir, with a lora
// or adalora adapter. DeBERTa's LoRA targets "dense", its pooler's among them; its AdaLoRA
// saves the pooler whole instead.
classification::Config peft_run_config(const std::string& family, const std::string& run_dir,
                                       const std::string& method) {
  nlohmann::json c = classification::default_config();
  c["model"] = io::read_json(run_dir + "/config.json")["model"];
  c["data"]["max_length"] = 24;
  if (family == "modernbert") {
    c["peft"] = {{"target_modules", {"Wqkv", "Wo", "Wi"}}, {"modules_to_save", {"head"}}};
  } else if (method == "lora") {
    c["peft"] = {{"target_modules", {"query_proj", "key_proj", "value_proj", "dense"}}};
  } else {
    c["peft"] = {{"target_modules", {"query_proj", "key_proj", "value_proj"}}, {"modules_to_save", {"pooler"}}};
  }
  c["peft"]["method"] = method;
  if (method == "adalora") c["peft"].update({{"init_r", 4}, {"target_r", 2}});
  return classification::parse_config(c);
}

torch::Tensor peft_logits(classification::TextClassifier& model) {
  model->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  const torch::Tensor ids = torch::randint(5, 41, {2, 9});
  torch::Tensor mask = torch::ones({2, 9}, torch::kLong);
  mask.index_put_({1, torch::indexing::Slice(6, torch::indexing::None)}, 0);
  return model->forward(ids, torch::zeros_like(ids), mask);
}

// peft_logits of a fresh 3-label classifier of `config`'s model with the base weights at
// base_weights and the adapter folder loaded on top.
torch::Tensor logits_with_adapter(const classification::Config& config, int64_t vocab, const std::string& base_weights,
                                  const std::string& adapter_dir) {
  classification::Config base_config = config;
  base_config.peft = nlohmann::json{{"method", nullptr}};
  classification::RunModel fresh = classification::build_run_model(base_config, vocab, 3);
  formats::load_module_tensors(*fresh.model, formats::load_safetensors(base_weights), base_weights);
  const auto peft = classification::make_peft_model(fresh.model, config);
  peft->load_adapter(adapter_dir, "default");
  return peft_logits(fresh.model);
}

// Every key of an adapter file is PEFT's for transformers' model: "base_model.model." and
// an adapted layer's name in the checkpoint at hf_weights (its lora_A/B/E tensors standing
// for the layer's weight), or a saved module's tensor name there.
void check_keys_name_hf_tensors(const formats::SafetensorsFile& adapter, const std::string& hf_weights) {
  const auto hf_file = formats::load_safetensors(hf_weights);
  const std::string prefix = "base_model.model.";
  for (const auto& key : adapter.names) {
    CAPTURE(key);
    REQUIRE(key.rfind(prefix, 0) == 0);
    std::string name = key.substr(prefix.size());
    for (const char* part : {".lora_A", ".lora_B", ".lora_E"}) {
      const size_t at = name.find(part);
      if (at != std::string::npos) name = name.substr(0, at) + ".weight";
    }
    CHECK(hf_file.tensors.count(name));
  }
}

// A classifier run config fine-tuning from init=hf:<dir>/hf on topic files of `rows`
// training rows written into dir (a quarter as many for validation and test), then `extra`.
nlohmann::json topics_run(const std::string& dir, int rows, const std::vector<std::string>& extra) {
  testing::write_topics_csv(dir + "/train.csv", rows, 1);
  testing::write_topics_csv(dir + "/valid.csv", rows / 4, 2);
  testing::write_topics_csv(dir + "/test.csv", rows / 4, 3);
  nlohmann::json c = classification::default_config();
  std::vector<std::string> overrides = {"run_dir=" + dir + "/run", "device=cpu", "init=hf:" + dir + "/hf",
                                        "data.train=" + dir + "/train.csv", "data.valid=" + dir + "/valid.csv",
                                        "data.test=" + dir + "/test.csv", "data.max_length=24",
                                        "train.batch_size=16", "head.pooling=cls"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  config::apply_overrides(c, overrides);
  return c;
}

// A PEFT classifier on transformers' fixture tests/fixtures/hf_arch/<fixture>, imported into
// dir/run, with the given "peft" section.
struct FixtureRun {
  classification::Config config;
  classification::RunModel run;
  int64_t vocab = 0;
  std::string base;
};

FixtureRun fixture_peft_run(const std::string& fixture, const nlohmann::json& peft, const std::string& dir) {
  fs::copy(fs::path(ATTUNE_SOURCE_DIR) / "tests/fixtures/hf_arch" / fixture, dir + "/hf");
  testing::write_fixture_tokenizer(dir + "/hf");
  std::ostringstream log;
  hf::import_hf(dir + "/hf", dir + "/run", log);
  FixtureRun out;
  out.base = dir + "/run/model.safetensors";
  nlohmann::json c = classification::default_config();
  c["model"] = io::read_json(dir + "/run/config.json")["model"];
  c["data"]["max_length"] = 24;
  c["peft"] = peft;
  out.config = classification::parse_config(c);
  out.vocab = io::read_json(dir + "/hf/config.json")["vocab_size"].get<int64_t>();
  out.run = classification::build_run_model(out.config, out.vocab, 3, out.base);
  return out;
}

}  // namespace hf_families_test

using namespace hf_families_test;

TEST_CASE("ModernBERT and DeBERTa HF -> attune -> HF: byte-identical weights, the same config and outputs",
          "[hf][modernbert][deberta]") {
  for (const std::string family : {"modernbert", "deberta"}) {
  for (auto arch : {HfBertArchitecture::kBertModel, HfBertArchitecture::kSequenceClassification,
                    HfBertArchitecture::kMaskedLM}) {
    const std::string dir = testing::temp_dir("hf-family-bridge");
    const std::string name = write_folder(family, dir + "/hf", arch);
    INFO(name);
    std::ostringstream log;
    const nlohmann::json imported = hf::import_hf(dir + "/hf", dir + "/run", log);
    CHECK(imported["architecture"] == name);
    CHECK(io::read_json(dir + "/run/config.json")["model"]["name"] == family);
    hf::export_hf(dir + "/run", dir + "/back", false, log);
    const auto source = formats::load_safetensors(dir + "/hf/model.safetensors");
    const auto back = formats::load_safetensors(dir + "/back/model.safetensors");
    REQUIRE(std::set<std::string>(back.names.begin(), back.names.end()) ==
            std::set<std::string>(source.names.begin(), source.names.end()));
    for (const auto& n : source.names) CHECK(torch::equal(back.tensors.at(n), source.tensors.at(n)));
    const nlohmann::json a = io::read_json(dir + "/hf/config.json"), b = io::read_json(dir + "/back/config.json");
    for (const auto& [key, value] : a.items()) {
      CAPTURE(key);
      CHECK(b[key] == value);
    }
    const hf::BertForwardOutput x = forward("hf:" + dir + "/hf"), y = forward(dir + "/run"), z = forward("hf:" + dir + "/back");
    CHECK(torch::equal(x.last_hidden_state, y.last_hidden_state));
    CHECK(same(x.logits, y.logits));
    CHECK(same(x.pooler_output, y.pooler_output));
    CHECK(torch::equal(x.last_hidden_state, z.last_hidden_state));
    CHECK(same(x.logits, z.logits));
  }
  }
}

TEST_CASE("embedding rows past the tokenizer's vocabulary import, run and export unchanged", "[hf][modernbert][deberta]") {
  for (const std::string family : {"modernbert", "deberta"}) {
    INFO(family);
    const std::string dir = testing::temp_dir("hf-family-padded");
    write_folder(family, dir + "/hf", HfBertArchitecture::kSequenceClassification, /*padding_rows=*/7);
    std::ostringstream log;
    hf::import_hf(dir + "/hf", dir + "/run", log);
    const int64_t tokens = static_cast<int64_t>(testing::hf_fixture_vocab().size());
    CHECK(io::read_json(dir + "/run/config.json")["model"]["vocab_size"] == tokens + 7);
    hf::export_hf(dir + "/run", dir + "/back", false, log);
    const auto source = formats::load_safetensors(dir + "/hf/model.safetensors");
    const auto back = formats::load_safetensors(dir + "/back/model.safetensors");
    for (const auto& n : source.names) CHECK(torch::equal(back.tensors.at(n), source.tensors.at(n)));
    CHECK(torch::equal(forward(dir + "/run").logits, forward("hf:" + dir + "/hf").logits));
    // A section whose table is smaller than the tokenizer fails by key.
    nlohmann::json config = io::read_json(dir + "/run/config.json");
    config["model"]["vocab_size"] = tokens - 1;
    io::write_json_atomic(dir + "/run/config.json", config);
    CHECK_THAT(testing::error_of([&] { forward(dir + "/run"); }), testing::contains_text("model.vocab_size"));
  }
}

TEST_CASE("a classifier fine-tunes from init=hf: on a ModernBERT or DeBERTa folder", "[hf][modernbert][deberta]") {
  for (const std::string family : {"modernbert", "deberta"}) {
  INFO(family);
  const std::string dir = testing::temp_dir("hf-family-init");
  write_folder(family, dir + "/hf", HfBertArchitecture::kBertModel);
  nlohmann::json c = topics_run(dir, 240, {"train.epochs=6", "train.lr=5e-3", "train.log_every=50"});
  std::ostringstream log;
  engine::TrainFlags flags;
  flags.log = &log;
  const nlohmann::json summary = tasks::train(c, flags);
  CHECK(summary["test"]["accuracy"].get<double>() > 0.8);
  const nlohmann::json saved = io::read_json(dir + "/run/config.json");
  CHECK(saved["model"]["name"] == family);
  CHECK(saved["model"]["num_layers"] == (family == "modernbert" ? 3 : 2));
  CHECK(log.str().find("no pooler there") != std::string::npos);  // a base model has no head
  // The run goes back to transformers as a sequence classifier.
  hf::export_hf(dir + "/run", dir + "/back", false, log);
  CHECK(io::read_json(dir + "/back/config.json")["architectures"][0] ==
        (family == "modernbert" ? "ModernBertForSequenceClassification" : "DebertaV2ForSequenceClassification"));

  // The run ships as a bundle (attune export): predict --bundle and the server's predictor
  // give the run's own probabilities.
  const nlohmann::json exported = classification::export_run(dir + "/run", dir + "/bundle", false);
  CHECK(exported["check_max_abs_diff"].get<double>() < 1e-5);
  CHECK(io::read_json(dir + "/bundle/manifest.json")["model"]["model_type"] ==
        (family == "modernbert" ? "modernbert" : "deberta-v2"));
  const std::string texts = "the match ended in a draw\nfresh bread and soup\na new phone chip\n";
  std::istringstream run_in(texts), bundle_in(texts);
  std::ostringstream from_run, from_bundle;
  classification::predict_run(dir + "/run", run_in, "texts", from_run, "cpu", 2);
  classification::predict_bundle(dir + "/bundle", bundle_in, "texts", from_bundle, "cpu", 2);
  std::istringstream run_lines(from_run.str()), bundle_lines(from_bundle.str());
  std::vector<nlohmann::json> bundle_rows;
  for (std::string a, b; std::getline(run_lines, a) && std::getline(bundle_lines, b);) {
    const nlohmann::json x = nlohmann::json::parse(a), y = nlohmann::json::parse(b);
    CHECK(x["label"] == y["label"]);
    for (const auto& [label, p] : x["probabilities"].items()) CHECK(std::abs(p.get<double>() - y["probabilities"][label].get<double>()) < 1e-5);
    bundle_rows.push_back(y);
  }
  REQUIRE(bundle_rows.size() == 3);
  const serving::Predictor served = classification::bundle_predictor(dir + "/bundle", "cpu", 8);
  const std::vector<nlohmann::json> rows = served.run({"the match ended in a draw", "a new phone chip"});
  CHECK(rows[0]["label"] == bundle_rows[0]["label"]);
  CHECK(rows[1]["label"] == bundle_rows[2]["label"]);

  // attune's attention switches are BERT's: set on a ModernBERT init, they fail by key.
  nlohmann::json with_switch = c;
  with_switch["run_dir"] = dir + "/run2";
  with_switch["model"]["position_bias"] = "alibi";
  CHECK_THAT(testing::error_of([&] { tasks::train(with_switch, flags); }), testing::contains_text("model.position_bias"));
  }
}

TEST_CASE("model.dropout and model.attention_dropout apply to an init's encoder; unset, the folder's stay",
          "[hf][modernbert][deberta][dropout]") {
  struct Case {
    std::string family;
    std::vector<std::string> hidden, attention;  // the family's keys
  };
  for (const Case& k : {Case{"bert", {"dropout"}, {"attention_dropout"}},
                        Case{"modernbert", {"embedding_dropout", "mlp_dropout"}, {"attention_dropout"}},
                        Case{"deberta", {"dropout"}, {"attention_dropout"}}}) {
    INFO(k.family);
    const std::string dir = testing::temp_dir("hf-family-dropout");
    if (k.family == "bert") {
      testing::write_hf_fixture(dir + "/hf", HfBertArchitecture::kBertModel);
    } else {
      write_folder(k.family, dir + "/hf", HfBertArchitecture::kBertModel);
    }
    engine::TrainFlags flags;
    std::ostringstream log;
    flags.log = &log;
    // Unset (null, the default), the folder's rates are the run's.
    const nlohmann::json folder = io::read_json(dir + "/hf/config.json");
    tasks::train(topics_run(dir, 32, {"train.max_steps=1"}), flags);
    const nlohmann::json kept = io::read_json(dir + "/run/config.json")["model"];
    const double folder_attention =
        folder.value("attention_dropout", folder.value("attention_probs_dropout_prob", -1.0));
    CHECK(kept[k.attention[0]].get<double>() == folder_attention);
    // Set, they replace every rate of their kind, under the family's own keys.
    nlohmann::json c = topics_run(dir, 32, {"train.max_steps=1", "model.dropout=0.25", "model.attention_dropout=0.125"});
    c["run_dir"] = dir + "/run-set";
    tasks::train(c, flags);
    const nlohmann::json set = io::read_json(dir + "/run-set/config.json")["model"];
    for (const auto& key : k.hidden) CHECK(set[key] == 0.25);
    for (const auto& key : k.attention) CHECK(set[key] == 0.125);
  }
}

TEST_CASE("ModernBERT folders attune cannot read fail naming the file and the tensor or key", "[hf][modernbert]") {
  const std::string dir = testing::temp_dir("modernbert-errors");
  write_folder("modernbert", dir + "/hf", HfBertArchitecture::kSequenceClassification);
  auto error = [&] { return testing::error_of([&] { models::read_hf_modernbert(dir + "/hf"); }); };
  const std::string weights = dir + "/hf/model.safetensors";
  const formats::SafetensorsFile good = formats::load_safetensors(weights);
  formats::NamedTensors fewer;
  for (const auto& n : good.names) {
    if (n != "model.layers.1.attn.Wo.weight") fewer.emplace_back(n, good.tensors.at(n));
  }
  formats::save_safetensors(weights, fewer);
  CHECK_THAT(error(), testing::contains_text("'model.layers.1.attn.Wo.weight' missing"));
  fewer.emplace_back("model.layers.1.attn.Wo.weight", torch::zeros({3, 3}));
  formats::save_safetensors(weights, fewer);
  CHECK_THAT(error(), testing::contains_text("has shape [3, 3]"));
  fewer.back().second = good.tensors.at("model.layers.1.attn.Wo.weight");
  fewer.emplace_back("model.layers.1.attn.extra", torch::zeros({2}));
  formats::save_safetensors(weights, fewer);
  CHECK_THAT(error(), testing::contains_text("'model.layers.1.attn.extra' not part of"));
  fewer.pop_back();
  formats::save_safetensors(weights, fewer);
  nlohmann::json config = io::read_json(dir + "/hf/config.json");
  config["architectures"] = {"ModernBertForTokenClassification"};
  io::write_json_atomic(dir + "/hf/config.json", config);
  CHECK_THAT(error(), testing::contains_text("config.json: architectures"));
  config["architectures"] = {"ModernBertForSequenceClassification"};
  config["rope_parameters"]["sliding_attention"]["rope_type"] = "linear";
  io::write_json_atomic(dir + "/hf/config.json", config);
  CHECK_THAT(error(), testing::contains_text("rope_parameters.sliding_attention.rope_type"));
}

TEST_CASE("DeBERTa folders with only spm.model: transformers' ids, fine-tuning, and the tokenizer back out",
          "[hf][deberta][spm]") {
  const std::string fixture = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/deberta_spm";
  const std::string dir = testing::temp_dir("deberta-spm");
  // A base DeBERTa-v3 whose table has one row past the 400 pieces, as deberta-v3's [MASK].
  const int64_t fixture_vocab = static_cast<int64_t>(testing::hf_fixture_vocab().size());
  write_folder("deberta", dir + "/hf", HfBertArchitecture::kBertModel, 401 - fixture_vocab);
  for (const char* file : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) fs::remove(dir + "/hf/" + file);
  for (const char* file : {"spm.model", "tokenizer_config.json"}) fs::copy_file(fixture + "/" + file, dir + "/hf/" + file);

  // expected.json: what transformers 5.17's DebertaV2Tokenizer made of the same folder.
  const text::HfFolderTokenizer tok = text::load_hf_folder_tokenizer(dir + "/hf");
  CHECK(tok.source == "spm.model");
  CHECK(tok.model_max_length == 512);
  const nlohmann::json expected = io::read_json(fixture + "/expected.json");
  CHECK(tok.tokenizer->vocab_size() == expected["vocab_size"].get<int64_t>());
  REQUIRE(expected["singles"].size() >= 10);
  for (const auto& probe : expected["singles"]) {
    CAPTURE(probe["text"]);
    CHECK(tok.tokenizer->encode(probe["text"].get<std::string>(), nullptr, 100000).ids ==
          probe["ids"].get<std::vector<int64_t>>());
  }
  for (const auto& p : expected["pairs"]) {
    const std::string text = p["text"].get<std::string>(), pair = p["pair"].get<std::string>();
    CAPTURE(text, pair);
    CHECK(tok.tokenizer->encode(text, &pair, 100000).ids == p["ids"].get<std::vector<int64_t>>());
  }

  nlohmann::json c = topics_run(dir, 120, {"train.epochs=1"});
  std::ostringstream log;
  engine::TrainFlags flags;
  flags.log = &log;
  tasks::train(c, flags);
  hf::export_hf(dir + "/run", dir + "/back", false, log);
  // The pipeline goes out as the tokenizer.json transformers would save, with the settings its
  // DebertaV2Tokenizer rebuilds the pipeline from.
  CHECK(fs::exists(dir + "/back/tokenizer.json"));
  const nlohmann::json settings_back = io::read_json(dir + "/back/tokenizer_config.json");
  CHECK(settings_back["tokenizer_class"] == "DebertaV2Tokenizer");
  CHECK(settings_back["do_lower_case"] == false);
  CHECK(settings_back["split_by_punct"] == false);
  const text::HfFolderTokenizer back = text::load_hf_folder_tokenizer(dir + "/back");
  const std::string text = expected["singles"][1]["text"].get<std::string>();
  CHECK(back.tokenizer->encode(text, nullptr, 512).ids == tok.tokenizer->encode(text, nullptr, 512).ids);

  // DebertaV2Tokenizer's settings change the pipeline as they do in transformers.
  nlohmann::json settings = io::read_json(dir + "/hf/tokenizer_config.json");
  settings["do_lower_case"] = true;
  settings["split_by_punct"] = true;
  io::write_json_atomic(dir + "/hf/tokenizer_config.json", settings);
  const text::HfFolderTokenizer changed = text::load_hf_folder_tokenizer(dir + "/hf");
  CHECK(changed.tokenizer->encode("hello world", nullptr, 64).ids == changed.tokenizer->encode("HELLO World", nullptr, 64).ids);
  CHECK(tok.tokenizer->encode("hello world", nullptr, 64).ids != tok.tokenizer->encode("HELLO World", nullptr, 64).ids);
  CHECK(changed.tokenizer->tokenize("well,done").size() > tok.tokenizer->tokenize("well,done").size());
  settings["do_lower_case"] = "yes";
  io::write_json_atomic(dir + "/hf/tokenizer_config.json", settings);
  CHECK_THAT(testing::error_of([&] { text::load_hf_folder_tokenizer(dir + "/hf"); }),
             testing::contains_text("tokenizer_config.json: do_lower_case: must be true or false"));
  // A sentencepiece.bpe.model is read only as XLM-R's or CamemBERT's.
  fs::rename(dir + "/hf/spm.model", dir + "/hf/sentencepiece.bpe.model");
  CHECK_THAT(testing::error_of([&] { text::load_hf_folder_tokenizer(dir + "/hf"); }),
             testing::contains_text("sentencepiece.bpe.model is read as XLMRobertaTokenizer or CamembertTokenizer, "
                                    "not 'DebertaV2Tokenizer'"));
}

TEST_CASE("ModernBERT and DeBERTa adapter files use PEFT's names for transformers' classifiers, both ways",
          "[peft][modernbert][deberta]") {
  const int64_t vocab = static_cast<int64_t>(testing::hf_fixture_vocab().size());
  for (const std::string family : {"modernbert", "deberta"}) {
  for (const std::string method : {"lora", "adalora"}) {
    INFO(family << " " << method);
    const std::string dir = testing::temp_dir("hf-family-peft");
    write_folder(family, dir + "/hf", HfBertArchitecture::kSequenceClassification);
    std::ostringstream log;
    hf::import_hf(dir + "/hf", dir + "/run", log);
    const std::string base = dir + "/run/model.safetensors";
    const classification::Config config = peft_run_config(family, dir + "/run", method);
    classification::RunModel run = classification::build_run_model(config, vocab, 3, base);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : run.model->parameters()) {
        if (p.requires_grad()) p.add_(torch::randn_like(p) * 0.1);
      }
    }
    if (method == "adalora") {
      for (auto& p : run.model->parameters()) {
        if (p.requires_grad()) p.mutable_grad() = torch::randn_like(p);
      }
      run.peft->after_optimizer_step(1, 1);
    }
    const torch::Tensor expected = peft_logits(run.model);
    run.peft->save_adapter(dir + "/adapter", "default", classification::kPeftTaskType);
    if (method == "lora") {
      // A regular expression over transformers' module paths, as PEFT configs written for
      // transformers give them, selects the same layers as the list.
      classification::Config by_regex = config;
      by_regex.peft["target_modules"] = family == "modernbert" ? "model\\.layers\\.\\d+\\.(attn\\.(Wqkv|Wo)|mlp\\.(Wi|Wo))"
                                                               : "(deberta\\.encoder\\.layer\\.\\d+\\..*(_proj|dense))|pooler\\.dense";
      classification::RunModel regex_run = classification::build_run_model(by_regex, vocab, 3, base);
      CHECK(regex_run.peft->count().trainable == run.peft->count().trainable);
      CHECK(peft::linear_adapter_paths(*regex_run.model) == peft::linear_adapter_paths(*run.model));
    }

    // Every key is PEFT's for transformers' model: an adapted layer's is the layer's name
    // in transformers' checkpoint, a saved module's is its tensor's name there.
    const auto file = formats::load_safetensors(dir + "/adapter/adapter_model.safetensors");
    const std::string prefix = "base_model.model.";
    check_keys_name_hf_tensors(file, dir + "/hf/model.safetensors");
    const nlohmann::json adapter_config = io::read_json(dir + "/adapter/adapter_config.json");
    CHECK(file.tensors.count("base_model.model.classifier.weight"));
    if (family == "modernbert") {
      CHECK(file.tensors.count("base_model.model.head.dense.weight"));
    } else if (method == "adalora") {
      CHECK(file.tensors.count("base_model.model.pooler.dense.weight"));
    }
    if (method == "lora" && family == "modernbert") {
      CHECK(file.tensors.count("base_model.model.model.layers.0.attn.Wqkv.lora_A.weight"));
      CHECK(file.tensors.count("base_model.model.model.layers.2.mlp.Wo.lora_B.weight"));
    } else if (method == "lora") {
      CHECK(file.tensors.count("base_model.model.deberta.encoder.layer.0.attention.self.query_proj.lora_B.weight"));
      CHECK(file.tensors.count("base_model.model.pooler.dense.lora_A.weight"));
    } else {
      const std::string layer =
          family == "modernbert" ? "model.layers.1.attn.Wqkv" : "deberta.encoder.layer.1.attention.self.key_proj";
      REQUIRE(adapter_config["rank_pattern"].is_object());
      const nlohmann::json flags = adapter_config["rank_pattern"].value(layer + ".lora_E", nlohmann::json());
      REQUIRE(flags.is_array());
      CHECK(file.tensors.at(prefix + layer + ".lora_E").size(0) == std::count(flags.begin(), flags.end(), true));
    }

    // Loaded into a fresh classifier of the same base, the adapter gives the same logits.
    CHECK(torch::allclose(logits_with_adapter(config, vocab, base, dir + "/adapter"), expected, 1e-6, 1e-6));
    classification::Config base_config = config;
    base_config.peft = nlohmann::json{{"method", nullptr}};

    // A file under attune's module paths (as written before) fails naming a key PEFT's has.
    formats::NamedTensors old;
    for (const auto& key : file.names) {
      std::string name = key.substr(prefix.size());
      name = family == "modernbert" ? models::modernbert_name_from_hf(name, "modernbert.")
                                    : models::deberta_name_from_hf(name, HfBertArchitecture::kSequenceClassification);
      old.emplace_back(prefix + name, file.tensors.at(key));
    }
    fs::create_directories(dir + "/old");
    fs::copy_file(dir + "/adapter/adapter_config.json", dir + "/old/adapter_config.json");
    formats::save_safetensors(dir + "/old/adapter_model.safetensors", old);
    classification::RunModel again = classification::build_run_model(base_config, vocab, 3);
    const auto old_peft = classification::make_peft_model(again.model, config);
    const std::string error = testing::error_of([&] { old_peft->load_adapter(dir + "/old", "old"); });
    CHECK_THAT(error, testing::contains_text("' missing from the file"));
    CHECK(error.find('\n') == std::string::npos);
    const size_t quote = error.find("tensor '");
    REQUIRE(quote != std::string::npos);
    const std::string missing = error.substr(quote + 8, error.find('\'', quote + 8) - quote - 8);
    CHECK(file.tensors.count(missing));
  }
  }
}

TEST_CASE("RoBERTa, DistilBERT and ELECTRA adapter files use PEFT's names; PEFT's classifier head is saved whole",
          "[peft][hfarch]") {
  struct Case {
    std::string fixture;
    nlohmann::json targets;
    std::vector<std::string> keys;  // some of PEFT's keys for transformers' classifier
  };
  const std::vector<Case> cases = {
      {"roberta-seqcls", {"query", "value"},
       {"roberta.encoder.layer.1.attention.self.value.lora_B.weight", "classifier.dense.weight", "classifier.out_proj.bias"}},
      {"distilbert-seqcls", {"q_lin", "ffn.lin1"},
       {"distilbert.transformer.layer.0.attention.q_lin.lora_A.weight",
        "distilbert.transformer.layer.1.ffn.lin1.lora_B.weight", "classifier.weight"}},
      {"electra-seqcls", {"query"},
       {"electra.encoder.layer.0.attention.self.query.lora_A.weight", "classifier.dense.bias",
        "classifier.out_proj.weight"}}};
  for (const Case& k : cases) {
    INFO(k.fixture);
    const std::string dir = testing::temp_dir("hf-arch-peft");
    FixtureRun fixture = fixture_peft_run(k.fixture, {{"method", "lora"}, {"target_modules", k.targets}}, dir);
    const classification::Config& config = fixture.config;
    classification::RunModel& run = fixture.run;
    const int64_t vocab = fixture.vocab;
    const std::string base = fixture.base;
    {
      torch::NoGradGuard no_grad;
      for (auto& p : run.model->parameters()) {
        if (p.requires_grad()) p.add_(torch::randn_like(p) * 0.1);
      }
    }
    const torch::Tensor expected = peft_logits(run.model);
    run.peft->save_adapter(dir + "/adapter", "default", classification::kPeftTaskType);
    CHECK(io::read_json(dir + "/adapter/adapter_config.json")["modules_to_save"] == nlohmann::json{"classifier"});

    // Every key names a tensor of transformers' checkpoint, as PEFT's do.
    const auto file = formats::load_safetensors(dir + "/adapter/adapter_model.safetensors");
    const std::string prefix = "base_model.model.";
    check_keys_name_hf_tensors(file, dir + "/hf/model.safetensors");
    for (const auto& key : k.keys) CHECK(file.tensors.count(prefix + key));
    // RoBERTa's and ELECTRA's "classifier" is a head of two layers, both trained, as in PEFT;
    // DistilBERT's pre_classifier trains too, since PEFT saves every module whose path ends in
    // "classifier".
    const int64_t head = 4;
    int64_t saved = 0;
    for (const auto& key : file.names) saved += key.find("classifier.") != std::string::npos;
    CHECK(saved == head);

    // Loaded into a fresh classifier of the same base, the adapter gives the same logits.
    CHECK(torch::allclose(logits_with_adapter(config, vocab, base, dir + "/adapter"), expected, 1e-6, 1e-6));
  }
}

TEST_CASE("unset target_modules take the architecture's names; layers inside modules_to_save get no adapter",
          "[peft][hfarch]") {
  // PEFT has no default for DistilBERT; attune's, q_lin and v_lin, go into the file.
  const std::vector<std::pair<std::string, nlohmann::json>> defaults = {
      {"distilbert-seqcls", {"q_lin", "v_lin"}}, {"roberta-seqcls", {"query", "value"}}, {"electra-seqcls", {"query", "value"}}};
  for (const auto& [fixture, targets] : defaults) {
    INFO(fixture);
    const std::string dir = testing::temp_dir("hf-arch-default-targets");
    FixtureRun f = fixture_peft_run(fixture, {{"method", "lora"}, {"r", 2}}, dir);
    f.run.peft->save_adapter(dir + "/adapter", "default", classification::kPeftTaskType);
    CHECK(io::read_json(dir + "/adapter/adapter_config.json")["target_modules"] == targets);
    const auto file = formats::load_safetensors(dir + "/adapter/adapter_model.safetensors");
    int64_t lora = 0;
    for (const auto& key : file.names) lora += key.find(".lora_A.") != std::string::npos;
    CHECK(lora == 2 * 2);  // two layers, two targets each
  }
  // "dense" names RoBERTa's classifier.dense too (attune's bert.pooler.dense); PEFT trains that
  // module whole, so it gets no adapter, while the encoder's dense layers do.
  const std::string dir = testing::temp_dir("hf-arch-dense");
  FixtureRun f = fixture_peft_run("roberta-seqcls", {{"method", "lora"}, {"r", 2}, {"target_modules", {"dense"}}}, dir);
  f.run.peft->save_adapter(dir + "/adapter", "default", classification::kPeftTaskType);
  const auto file = formats::load_safetensors(dir + "/adapter/adapter_model.safetensors");
  const std::string prefix = "base_model.model.";
  CHECK(file.tensors.count(prefix + "roberta.encoder.layer.0.attention.output.dense.lora_A.weight"));
  CHECK(file.tensors.count(prefix + "roberta.encoder.layer.1.intermediate.dense.lora_B.weight"));
  CHECK(file.tensors.count(prefix + "classifier.dense.weight"));
  for (const auto& key : file.names) CHECK(key.find("classifier.dense.lora_") == std::string::npos);
}
