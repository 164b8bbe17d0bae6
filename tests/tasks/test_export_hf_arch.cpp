// Bundles of the Hugging Face architectures attune's BERT body stands for (RoBERTa and its
// kin, DistilBERT with learned and sinusoidal positions, ELECTRA with and without
// embeddings_project): the scripted modules against attune's own forward and against
// transformers' outputs (tests/fixtures/hf_arch), and converted runs' bundles predicting
// as the runs do, for classifiers and masked LMs.
#include "tests/catch.h"

#include "core/files.h"
#include "data/formats/safetensors.h"
#include "models/bert/masked_lm_script.h"
#include "models/bert/script_export.h"
#include "tasks/bundle/bundle.h"
#include "tasks/classification/export.h"
#include "tasks/classification/hf_bundle.h"
#include "tasks/classification/hf_convert.h"
#include "tasks/classification/task.h"
#include "tasks/pretraining/export.h"
#include "tasks/pretraining/task.h"
#include "tests/common/hf_arch_tokenizer.h"
#include "tests/common/streams.h"
#include "tests/common/synthetic.h"

#include <torch/script.h>

#include <filesystem>
#include <map>
#include <sstream>

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers to itself.
namespace attune::export_hf_arch_test {

namespace fs = std::filesystem;
using nlohmann::json;
using attune::testing::through;
using models::HfBertArchitecture;

namespace {

const std::string kFixtures = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/hf_arch";

// A copy of fixture `name` with a tokenizer of its 100 ids, as tools/parity/hf_arch_parity.py
// gives it (only the ids matter here): RoBERTa-like types get a tokenizer.json with
// <s> <pad> </s> <unk> <mask> first (pad id 1, the checkpoint's pad_token_id), the others a
// WordPiece vocab.txt with [PAD] first (pad id 0).
std::string fixture_copy(const std::string& name, const std::string& where) {
  const std::string dir = attune::testing::temp_dir(where) + "/hf";
  fs::copy(kFixtures + "/" + name, dir);
  attune::testing::write_fixture_tokenizer(dir);
  if (!fs::exists(dir + "/tokenizer.json")) {
    io::write_json_atomic(dir + "/tokenizer_config.json",
                          {{"tokenizer_class", "BertTokenizer"}, {"do_lower_case", true}, {"model_max_length", 32}});
  }
  return dir;
}

struct Expected {
  torch::Tensor ids, mask;
  std::map<std::string, torch::Tensor> outputs;
};

Expected expected_of(const std::string& name) {
  Expected e;
  e.outputs = formats::load_safetensors(kFixtures + "/" + name + "/expected.safetensors").tensors;
  e.ids = e.outputs.at("input_ids").to(torch::kLong);
  e.mask = e.outputs.at("attention_mask").to(torch::kLong);
  return e;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

torch::jit::Module save_and_load(torch::jit::Module& module, const std::string& where) {
  const std::string path = attune::testing::temp_dir(where) + "/model.pt";
  module.save(path);
  return torch::jit::load(path);
}

// DistilBERT's classifier fixture with sinusoidal positions: config.json says so and the
// file drops the table, so the loader builds transformers' own (as a saved sinusoidal
// checkpoint holds). No transformers output for it: its run is the reference.
std::string sinusoidal_classifier(const std::string& where) {
  const std::string dir = fixture_copy("distilbert-seqcls", where);
  json config = io::read_json(dir + "/config.json");
  config["sinusoidal_pos_embds"] = true;
  io::write_json_atomic(dir + "/config.json", config);
  const formats::SafetensorsFile file = formats::load_safetensors(dir + "/model.safetensors");
  formats::NamedTensors kept;
  for (const auto& name : file.names) {
    if (name.find("position_embeddings") == std::string::npos) kept.emplace_back(name, file.tensors.at(name));
  }
  REQUIRE(kept.size() + 1 == file.names.size());
  formats::save_safetensors(dir + "/model.safetensors", kept);
  return dir;
}

}  // namespace

TEST_CASE("every HF architecture scripts to attune's outputs and transformers' to 1e-5", "[export][hfarch][fixtures]") {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    const std::string name = entry.path().filename().string();
    if (!fs::exists(entry.path() / "expected.safetensors")) continue;
    CAPTURE(name);
    ++cases;
    std::ostringstream log;
    hf::BertBundle b = hf::load_bert_bundle("hf:" + fixture_copy(name, "export-arch-" + name), log);
    const Expected e = expected_of(name);
    torch::NoGradGuard no_grad;
    b.module->eval();
    const hf::BertForwardOutput eager = hf::bert_bundle_forward(b, e.ids, {}, e.mask);
    script::ClassNames names;
    switch (b.architecture) {
      case HfBertArchitecture::kBertModel: {
        auto& model = dynamic_cast<models::BertModelImpl&>(*b.module);
        torch::jit::Module m = models::script_bert(model, names);
        m = save_and_load(m, "export-arch-module");
        const torch::Tensor hidden = m.forward({e.ids, e.mask}).toTensor();
        CHECK(max_diff(hidden, eager.last_hidden_state) == 0.0);
        CHECK(max_diff(hidden, e.outputs.at("last_hidden_state")) < 1e-5);
        if (model.pooler) {
          const torch::Tensor pooled = m.get_method("pool")({hidden, e.mask}).toTensor();
          CHECK(max_diff(pooled, eager.pooler_output) == 0.0);
          if (e.outputs.count("pooler_output")) CHECK(max_diff(pooled, e.outputs.at("pooler_output")) < 1e-5);
        }
        break;
      }
      case HfBertArchitecture::kSequenceClassification: {
        auto& model = dynamic_cast<classification::TextClassifierImpl&>(*b.module);
        torch::jit::Module m = classification::script_classifier(model);
        m = save_and_load(m, "export-arch-module");
        const torch::Tensor logits = m.forward({e.ids, e.mask}).toTensor();
        CHECK(max_diff(logits, eager.logits) == 0.0);
        CHECK(max_diff(logits, e.outputs.at("logits")) < 1e-5);
        break;
      }
      case HfBertArchitecture::kMaskedLM: {
        auto& model = dynamic_cast<models::BertForMaskedLMImpl&>(*b.module);
        torch::jit::Module m = models::script_masked_lm(model, names);
        m = save_and_load(m, "export-arch-module");
        const torch::Tensor logits = m.forward({e.ids, e.mask}).toTensor();
        CHECK(max_diff(logits, eager.logits) == 0.0);
        CHECK(max_diff(logits, e.outputs.at("logits")) < 1e-5);
        const torch::Tensor positions = torch::tensor({int64_t{1}, e.ids.numel() - 2});
        const torch::Tensor some = m.get_method("logits_at")({e.ids, e.mask, positions}).toTensor();
        CHECK(max_diff(some, model.forward(e.ids, {}, e.mask, positions)) == 0.0);
        break;
      }
    }
  }
  CHECK(cases >= 13);
}

TEST_CASE("converted classifiers of each HF architecture export bundles that predict as their runs",
          "[export][hfarch][bundle]") {
  struct Case {
    std::string name;     // fixture, or "distilbert-sinusoidal-seqcls"
    bool has_expected;    // transformers' logits to compare with
  };
  for (const Case& c : {Case{"roberta-seqcls", true}, Case{"distilbert-seqcls", true}, Case{"electra-seqcls", true},
                        Case{"electra-square-seqcls", true}, Case{"distilbert-sinusoidal-seqcls", false}}) {
    CAPTURE(c.name);
    const std::string where = "export-arch-run-" + c.name;
    const std::string hf = c.has_expected ? fixture_copy(c.name, where) : sinusoidal_classifier(where);
    const std::string dir = fs::path(hf).parent_path().string();
    std::ostringstream log;
    hf::import_hf(hf, dir + "/run", log);
    const json summary = classification::export_run(dir + "/run", dir + "/bundle", false);
    CHECK(summary["check_max_abs_diff"].get<double>() == 0.0);
    const bundle::Bundle b = bundle::load_bundle(dir + "/bundle", "text-classification");
    const std::string type = io::read_json(hf + "/config.json").at("model_type").get<std::string>();
    CHECK(b.manifest["model"]["model_type"] == type);
    CHECK((b.manifest["inputs"][2]["values"].get<std::string>().rfind("ignored", 0) == 0) == (type == "distilbert"));

    // The bundle's module on transformers' own batch (padded: RoBERTa's positions skip the pads).
    torch::jit::Module module = b.module;
    classification::LoadedRun run = classification::load_run(dir + "/run", {}, "cpu");
    const Expected e = expected_of(c.has_expected ? c.name : "distilbert-seqcls");
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = module.forward({e.ids, e.mask}).toTensor();
    CHECK(max_diff(logits, run.model.model->forward(e.ids, {}, e.mask)) == 0.0);
    if (c.has_expected) CHECK(max_diff(logits, e.outputs.at("logits")) < 1e-5);

    // predict from the bundle prints what predict from the run prints, byte for byte.
    const std::string lines = "w5 w17 w42\nw9\nw60 w61 w62 w63 w64 w65 w66 w67 w68 w69 w70\nnothing known here\n";
    const std::string from_run = through(
        [&](std::istream& in, std::ostream& out) { classification::predict_run(dir + "/run", in, "in.txt", out, "cpu", 3); },
        lines);
    const std::string from_bundle = through(
        [&](std::istream& in, std::ostream& out) {
          classification::predict_bundle(dir + "/bundle", in, "in.txt", out, "cpu", 3);
        },
        lines);
    CHECK(from_bundle == from_run);
    CHECK(attune::testing::lines_of(from_run).size() == 4);
  }
}

TEST_CASE("converted RoBERTa and DistilBERT masked LMs export fill-mask bundles that predict as their runs",
          "[export][hfarch][mlm]") {
  for (const std::string name : {"roberta-mlm", "distilbert-mlm"}) {
    CAPTURE(name);
    const std::string hf = fixture_copy(name, "export-arch-mlm-" + name);
    const std::string dir = fs::path(hf).parent_path().string();
    std::ostringstream log;
    hf::import_hf(hf, dir + "/run", log);
    // The imported encoder directory as a pretraining run (what `attune pretrain` would have
    // left), so that the mlm task loads and exports it.
    json config = pretraining::default_config();
    config["run_dir"] = dir + "/run";
    config["device"] = "cpu";
    config["model"] = io::read_json(dir + "/run/config.json").at("model");
    config["mlm"]["max_length"] = 24;
    io::write_json_atomic(dir + "/run/config.json", config);

    const json summary = pretraining::export_run(dir + "/run", dir + "/bundle", false);
    CHECK(summary["check_max_abs_diff"].get<double>() == 0.0);
    const bundle::Bundle b = bundle::load_bundle(dir + "/bundle", "mlm");
    CHECK(b.manifest["model"]["model_type"] == name.substr(0, name.find('-')));
    torch::jit::Module module = b.module;
    const Expected e = expected_of(name);
    torch::NoGradGuard no_grad;
    CHECK(max_diff(module.forward({e.ids, e.mask}).toTensor(), e.outputs.at("logits")) < 1e-5);

    const std::string lines = "w5 [MASK] w17\n[MASK] w9 w10 [MASK]\nno mask here\n";
    const std::string from_run = through(
        [&](std::istream& in, std::ostream& out) { pretraining::predict_run(dir + "/run", in, "in.txt", out, "cpu", 4); },
        lines);
    const std::string from_bundle = through(
        [&](std::istream& in, std::ostream& out) { pretraining::predict_bundle(dir + "/bundle", in, "in.txt", out, "cpu"); },
        lines);
    CHECK(from_bundle == from_run);
    const auto rows = attune::testing::lines_of(from_run);
    REQUIRE(rows.size() == 3);
    CHECK(json::parse(rows[1])["masks"].size() == 2);
  }
}

}  // namespace attune::export_hf_arch_test
