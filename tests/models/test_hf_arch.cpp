// RoBERTa (XLM-RoBERTa, CamemBERT), DistilBERT and ELECTRA checkpoints as configurations
// of attune's BERT body: names, config.json, positions, heads and PEFT targets; then the
// transformers-made fixtures of tests/fixtures/hf_arch (tools/parity/make_hf_arch_fixtures.py):
// outputs to 1e-5 and export back to the same tensors and config.
#include "core/files.h"
#include "models/bert/bert.h"
#include "models/bert/hf_checkpoint.h"
#include "models/bert/masked_lm.h"
#include "models/peft/config.h"
#include "models/peft/peft_model.h"
#include "tests/catch.h"
#include "tests/common/synthetic.h"
#include "tests/models/reference.h"

#include <filesystem>
#include <set>

namespace fs = std::filesystem;
using namespace attune;
using models::BertOptions;
using models::HfBertArchitecture;
using testing::user_error_message;

namespace {

constexpr HfBertArchitecture kArchitectures[] = {HfBertArchitecture::kBertModel,
                                                 HfBertArchitecture::kSequenceClassification,
                                                 HfBertArchitecture::kMaskedLM};

BertOptions tiny(const std::string& type) {
  BertOptions o = BertOptions().vocab_size(50).hidden_size(16).num_hidden_layers(2).num_attention_heads(2)
                      .intermediate_size(24).max_position_embeddings(20);
  models::apply_model_type(o, type, "test");
  if (type == "roberta") o.type_vocab_size(1).pad_token_id(1);
  if (type == "electra") o.embedding_size(8);
  return o;
}

// attune's modules for an architecture, their tensors under attune's names (perturbed).
formats::NamedTensors attune_tensors(const BertOptions& options, HfBertArchitecture arch) {
  torch::manual_seed(3);
  formats::NamedTensors out;
  if (arch == HfBertArchitecture::kMaskedLM) {
    out = formats::module_tensors(*models::BertForMaskedLM(options));
  } else {
    BertOptions o = options;
    o.add_pooling_layer(arch == HfBertArchitecture::kSequenceClassification || o.model_type() == "roberta" ||
                        o.model_type() == "bert");
    for (auto& [n, t] : formats::module_tensors(*models::BertModel(o))) out.emplace_back("bert." + n, t);
  }
  if (arch == HfBertArchitecture::kSequenceClassification) {
    out.emplace_back("classifier.weight", torch::randn({3, options.hidden_size()}));
    out.emplace_back("classifier.bias", torch::randn({3}));
  }
  torch::NoGradGuard no_grad;
  for (auto& [n, t] : out) t = t.detach().clone().add_(torch::randn_like(t) * 0.1);
  return out;
}

nlohmann::json labels_extra() {
  return {{"id2label", {{"0", "negative"}, {"1", "neutral"}, {"2", "positive"}}},
          {"label2id", {{"negative", 0}, {"neutral", 1}, {"positive", 2}}}};
}

std::set<std::string> file_names(const std::string& dir) {
  const auto file = formats::load_safetensors(dir + "/model.safetensors");
  return {file.names.begin(), file.names.end()};
}

bool has(const std::set<std::string>& names, const std::string& name) { return names.count(name) > 0; }

}  // namespace

TEST_CASE("each architecture writes transformers' tensor names and config.json, and reads them back", "[hf][hfarch]") {
  for (const std::string type : {"roberta", "distilbert", "electra"}) {
    for (auto arch : kArchitectures) {
      if (type == "electra" && arch == HfBertArchitecture::kMaskedLM) continue;
      CAPTURE(type, models::hf_architecture_name(arch, type));
      const std::string dir = testing::temp_dir("hf-arch-names");
      const BertOptions o = tiny(type);
      const formats::NamedTensors tensors = attune_tensors(o, arch);
      models::write_hf_bert(dir, arch, o, tensors, labels_extra());
      const nlohmann::json config = io::read_json(dir + "/config.json");
      CHECK(config["model_type"] == type);
      CHECK(config["architectures"][0] == models::hf_architecture_name(arch, type));
      const auto names = file_names(dir);
      const bool head = arch != HfBertArchitecture::kBertModel;
      const std::string base = head ? models::hf_base_prefix(type) + "." : "";
      if (type == "distilbert") {
        CHECK(config.contains("dim"));
        CHECK_FALSE(config.contains("hidden_size"));
        CHECK(has(names, base + "transformer.layer.1.attention.q_lin.weight"));
        CHECK(has(names, base + "transformer.layer.1.attention.out_lin.bias"));
        CHECK(has(names, base + "transformer.layer.0.sa_layer_norm.weight"));
        CHECK(has(names, base + "transformer.layer.0.ffn.lin1.weight"));
        CHECK(has(names, base + "transformer.layer.0.ffn.lin2.weight"));
        CHECK(has(names, base + "transformer.layer.0.output_layer_norm.bias"));
        CHECK_FALSE(has(names, base + "embeddings.token_type_embeddings.weight"));
      } else {
        CHECK(has(names, base + "encoder.layer.1.attention.self.query.weight"));
        CHECK(has(names, base + "embeddings.token_type_embeddings.weight"));
      }
      if (type == "electra") CHECK(has(names, base + "embeddings_project.weight"));
      if (arch == HfBertArchitecture::kSequenceClassification) {
        if (type == "distilbert") {
          CHECK(has(names, "pre_classifier.weight"));
          CHECK(has(names, "classifier.weight"));
        } else {
          CHECK(has(names, "classifier.dense.weight"));
          CHECK(has(names, "classifier.out_proj.bias"));
        }
        CHECK(config["id2label"]["2"] == "positive");
      }
      if (arch == HfBertArchitecture::kMaskedLM) {
        CHECK(has(names, type == "roberta" ? "lm_head.bias" : "vocab_projector.bias"));
        CHECK(has(names, type == "roberta" ? "lm_head.layer_norm.weight" : "vocab_layer_norm.weight"));
      }
      for (const auto& n : names) CHECK(n.rfind("bert.", 0) != 0);
      const models::HfBertCheckpoint ck = models::read_hf_bert(dir);
      CHECK(ck.architecture == arch);
      CHECK(ck.options.model_type() == type);
      CHECK(ck.options.embedding_size() == o.embedding_size());
      REQUIRE(ck.tensors.names.size() == tensors.size());
      for (const auto& [name, t] : tensors) {
        CAPTURE(name);
        REQUIRE(ck.tensors.tensors.count(name));
        CHECK(torch::equal(ck.tensors.tensors.at(name), t));
      }
    }
  }
}

TEST_CASE("RoBERTa positions count real tokens from pad_token_id + 1", "[hfarch]") {
  BertOptions o = tiny("roberta");
  models::BertModel model(o);
  model->eval();
  const torch::Tensor ids = torch::tensor({{0L, 7L, 8L, 2L}, {0L, 9L, 1L, 1L}});
  // create_position_ids_from_input_ids: [[2,3,4,5],[2,3,1,1]]
  const torch::Tensor positions = torch::tensor({{2L, 3L, 4L, 5L}, {2L, 3L, 1L, 1L}});
  auto& e = *model->embeddings;
  const torch::Tensor expected = e.layer_norm->forward(e.word_embeddings->forward(ids) +
                                                       e.position_embeddings->forward(positions) +
                                                       e.token_type_embeddings->forward(torch::zeros_like(ids)));
  CHECK(torch::allclose(e.forward(ids, torch::zeros_like(ids)), expected));
  // max_position_embeddings 20 less the offset 2 leaves 18 tokens.
  CHECK_NOTHROW(model->forward(torch::full({1, 18}, 5L)));
  CHECK_THROWS(model->forward(torch::full({1, 19}, 5L)));
}

TEST_CASE("DistilBERT's sinusoidal table is create_sinusoidal_embeddings' and stays frozen", "[hfarch]") {
  BertOptions o = tiny("distilbert").sinusoidal_pos_embds(true);
  models::BertModel model(o);
  const torch::Tensor table = model->embeddings->position_embeddings->weight;
  CHECK_FALSE(table.requires_grad());
  for (int64_t pos : {0, 3, 19}) {
    for (int64_t j : {0, 1, 6, 15}) {
      const double angle = pos / std::pow(10000.0, 2.0 * (j / 2) / 16.0);
      CHECK(table[pos][j].item<float>() == static_cast<float>(j % 2 == 0 ? std::sin(angle) : std::cos(angle)));
    }
  }
  CHECK_FALSE(model->embeddings->token_type_embeddings);
}

TEST_CASE("PEFT targets take DistilBERT's and RoBERTa's module names", "[hfarch][peft]") {
  for (const std::string type : {"distilbert", "roberta", "electra"}) {
    CAPTURE(type);
    models::BertModel model(tiny(type));
    peft::PeftModel peft(model.ptr());
    const nlohmann::json targets = type == "distilbert" ? nlohmann::json{"q_lin", "v_lin", "lin1"}
                                                        : nlohmann::json{"query", "value", "intermediate.dense"};
    peft.add_adapter("default", peft::resolve({{"method", "lora"}, {"r", 2}, {"target_modules", targets}}));
    // 2 layers: q and v (16 -> 16), the first feed-forward layer (16 -> 24).
    CHECK(peft.count().trainable == 2 * (2 * (2 * 16 + 16 * 2) + (2 * 16 + 24 * 2)));
  }
  models::BertModel distil(tiny("distilbert"));
  peft::PeftModel peft(distil.ptr());
  peft.add_adapter("default", peft::resolve({{"method", "lora"}, {"r", 2}, {"target_modules", ".*\\.out_lin"}}));
  CHECK(peft.count().trainable == 2 * (2 * 16 + 16 * 2));
}

TEST_CASE("unsupported architecture settings fail naming config.json and the key", "[hfarch]") {
  const std::string dir = testing::temp_dir("hf-arch-bad");
  const BertOptions o = tiny("roberta");
  models::write_hf_bert(dir, HfBertArchitecture::kBertModel, o, attune_tensors(o, HfBertArchitecture::kBertModel));
  const nlohmann::json good = io::read_json(dir + "/config.json");
  auto error_with = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json c = good;
    c[key] = value;
    io::write_json_atomic(dir + "/config.json", c);
    return user_error_message([&] { models::read_hf_bert(dir); });
  };
  CHECK(error_with("position_embedding_type", "relative_key")
            .find("config.json.position_embedding_type: only 'absolute' is supported") != std::string::npos);
  CHECK(error_with("model_type", "gpt2").find("config.json.model_type: unsupported model_type 'gpt2'") !=
        std::string::npos);
  CHECK(error_with("architectures", nlohmann::json{"RobertaForCausalLM"})
            .find("config.json: architectures: unsupported architecture 'RobertaForCausalLM' for model_type "
                  "'roberta'") != std::string::npos);
  CHECK(error_with("architectures", nlohmann::json{"BertModel"}).find("architectures") != std::string::npos);
  nlohmann::json electra = bert_options_to_hf_json(tiny("electra"));
  electra["architectures"] = {"ElectraForMaskedLM"};
  io::write_json_atomic(dir + "/config.json", electra);
  CHECK(user_error_message([&] { models::read_hf_bert(dir); }).find("ElectraForMaskedLM") != std::string::npos);
  CHECK(user_error_message([&] { models::bert_options_from_json({{"model_type", "distilbert"}, {"dim", 30}}, "c"); })
            .find("c.dim: dim 30 is not divisible by n_heads 12") == 0);
}

// ---- transformers' own checkpoints (tests/fixtures/hf_arch) ----

namespace {

const std::string kFixtures = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/hf_arch";

struct Forward {
  torch::Tensor hidden, pooled, logits;
};

// attune's forward for a checkpoint, as hf_bundle builds the heads: the classifier is the
// pooler (classifier.dense / pre_classifier) then the linear "classifier".
Forward run(const models::HfBertCheckpoint& ck, const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  Forward out;
  if (ck.architecture == HfBertArchitecture::kMaskedLM) {
    models::BertForMaskedLM model(ck.options);
    formats::load_module_tensors(*model, ck.tensors, "fixture");
    model->eval();
    out.hidden = model->bert->forward(ids, {}, mask).last_hidden_state;
    out.logits = model->forward(ids, {}, mask);
    return out;
  }
  models::BertModel model(ck.options);
  formats::load_module_tensors(*model, models::strip_prefix(ck.tensors, "bert."), "fixture");
  model->eval();
  const models::BertOutput o = model->forward(ids, {}, mask);
  out.hidden = o.last_hidden_state;
  out.pooled = o.pooler_output;
  if (ck.architecture == HfBertArchitecture::kSequenceClassification) {
    out.logits = torch::nn::functional::linear(o.pooler_output, ck.tensors.tensors.at("classifier.weight"),
                                               ck.tensors.tensors.at("classifier.bias"));
  }
  return out;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

}  // namespace

TEST_CASE("transformers' RoBERTa, XLM-RoBERTa, CamemBERT, DistilBERT and ELECTRA outputs to 1e-5", "[hfarch][fixtures]") {
  if (!fs::is_directory(kFixtures)) {
    WARN("no " + kFixtures + " (python3 tools/parity/make_hf_arch_fixtures.py OUT_DIR on a machine with "
         "transformers, then copy OUT_DIR there): skipped");
    return;
  }
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "expected.safetensors")) continue;
    const std::string dir = entry.path().string();
    CAPTURE(dir);
    ++cases;
    const models::HfBertCheckpoint ck = models::read_hf_bert(dir);
    const nlohmann::json config = io::read_json(dir + "/config.json");
    CHECK(ck.options.model_type() == config["model_type"].get<std::string>());
    const auto expected = formats::load_safetensors(dir + "/expected.safetensors").tensors;
    const torch::Tensor ids = expected.at("input_ids").to(torch::kLong);
    const torch::Tensor mask = expected.at("attention_mask").to(torch::kLong);
    const Forward ours = run(ck, ids, mask);
    CHECK(max_diff(ours.hidden, expected.at("last_hidden_state")) < 1e-5);
    if (expected.count("pooler_output")) CHECK(max_diff(ours.pooled, expected.at("pooler_output")) < 1e-5);
    if (expected.count("logits")) CHECK(max_diff(ours.logits, expected.at("logits")) < 1e-5);

    // Export: the same tensors under the same names (bar tied copies and buffers), the same
    // model_type, architectures and labels; reading the export gives identical tensors.
    const std::string out = testing::temp_dir("hf-arch-export");
    nlohmann::json extra = nlohmann::json::object();
    if (ck.architecture == HfBertArchitecture::kSequenceClassification) {
      extra["id2label"] = config["id2label"];
      extra["label2id"] = config["label2id"];
    }
    formats::NamedTensors tensors;
    for (const auto& name : ck.tensors.names) {
      const bool bare = ck.architecture == HfBertArchitecture::kBertModel;
      tensors.emplace_back(bare ? name.substr(5) : name, ck.tensors.tensors.at(name));
    }
    models::write_hf_bert(out, ck.architecture, ck.options, tensors, extra);
    const nlohmann::json written = io::read_json(out + "/config.json");
    CHECK(written["model_type"] == config["model_type"]);
    CHECK(written["architectures"] == config["architectures"]);
    if (config.contains("id2label") && ck.architecture == HfBertArchitecture::kSequenceClassification) {
      CHECK(written["id2label"] == config["id2label"]);
    }
    const auto source = formats::load_safetensors(dir + "/model.safetensors");
    const auto exported = formats::load_safetensors(out + "/model.safetensors");
    for (const auto& name : source.names) {
      const bool tied_or_buffer = name.find("position_ids") != std::string::npos ||
                                  name.find("token_type_ids") != std::string::npos ||
                                  name.find("decoder.") != std::string::npos || name == "vocab_projector.weight";
      if (tied_or_buffer) continue;
      CAPTURE(name);
      REQUIRE(exported.tensors.count(name));
      CHECK(torch::equal(exported.tensors.at(name), source.tensors.at(name).to(torch::kFloat)));
    }
    CHECK(exported.names.size() <= source.names.size());
    const models::HfBertCheckpoint again = models::read_hf_bert(out);
    CHECK(again.architecture == ck.architecture);
    CHECK(again.labels == ck.labels);
    REQUIRE(again.tensors.names == ck.tensors.names);
    for (const auto& name : ck.tensors.names) CHECK(torch::equal(again.tensors.tensors.at(name), ck.tensors.tensors.at(name)));
  }
  CHECK(cases >= 13);
}
