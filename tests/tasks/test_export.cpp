// Bundles: the scripted classifier against attune's own forward for every PEFT method,
// pooling, layer-norm placement and activation, at shapes the export never saw; and the
// bundle directory's atomic writing and its checks on load.
#include "tests/catch.h"

#include "core/files.h"
#include "data/io/sha256.h"
#include "tasks/bundle/bundle.h"
#include "tasks/classification/export.h"
#include "tasks/classification/run_model.h"
#include "tasks/classification/task.h"
#include "models/export/script_module.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <torch/script.h>

#include <filesystem>
#include <fstream>

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers (and its using-declarations) to itself.
namespace attune::export_test {

namespace fs = std::filesystem;
using nlohmann::json;
using attune::classification::RunModel;

namespace {

constexpr int64_t kVocab = 50;

struct Variant {
  std::string method;  // "full" or a PEFT method
  std::string pooling;
  bool pre_layer_norm;
  std::string activation;
  json peft = json::object();  // extra keys of the peft section
  json switches = json::object();  // attention switches of the model section, or a whole section with "name"
};

std::string describe(const Variant& v) {
  return v.method + " " + v.pooling + (v.pre_layer_norm ? " pre-LN " : " post-LN ") + v.activation + " " + v.peft.dump() +
         " " + v.switches.dump();
}

// A tiny classifier whose every tensor (adapters included) is moved off its
// initialisation, so zero-initialised adapter parts (LoRA B, AdaLoRA E, bottleneck up,
// IA3's ones) change the outputs.
RunModel tiny_classifier(const Variant& v, uint64_t seed) {
  torch::manual_seed(seed);
  json c = attune::classification::default_config();
  c["model"] = {{"name", "bert"},         {"preset", nullptr},       {"hidden_size", 16},
                {"num_layers", 2},        {"num_heads", 4},          {"intermediate_size", 32},
                {"activation", v.activation}, {"dropout", 0.0},      {"attention_dropout", 0.0},
                {"max_length", 64},       {"pre_layer_norm", v.pre_layer_norm}};
  // A section naming another encoder family replaces BERT's.
  if (v.switches.contains("name")) {
    c["model"] = v.switches;
  } else {
    c["model"].update(v.switches);
  }
  c["head"] = {{"pooling", v.pooling}, {"dropout", 0.0}};
  if (v.method != "full") {
    json peft = v.peft;
    peft["method"] = v.method;
    c["peft"] = peft;
  }
  c["data"]["max_length"] = 32;
  RunModel run = attune::classification::build_run_model(attune::classification::parse_config(c), kVocab, 3);
  torch::NoGradGuard no_grad;
  for (auto& p : run.model->parameters()) p.add_(torch::randn_like(p) * 0.2);
  run.model->eval();
  return run;
}

struct Case {
  torch::Tensor ids, mask, types;  // types may be undefined (the script's None)
  torch::Tensor expected;
};

// Batch sizes 1, 3, 5 by lengths 4, 9, 17; rows after the first are padded by
// different amounts; some batches carry token types, others none.
std::vector<Case> cases(RunModel& run) {
  std::vector<Case> out;
  torch::NoGradGuard no_grad;
  for (int64_t b : {1, 3, 5}) {
    for (int64_t t : {4, 9, 17}) {
      Case c;
      c.ids = torch::randint(5, kVocab, {b, t}, torch::kLong);
      c.mask = torch::ones({b, t}, torch::kLong);
      for (int64_t r = 1; r < b; ++r) c.mask[r].narrow(0, t - (r * 3) % (t - 1), (r * 3) % (t - 1)).zero_();
      if (t != 9) c.types = torch::randint(0, 2, {b, t}, torch::kLong);
      c.ids.masked_fill_(c.mask.eq(0), 0);
      c.expected = run.model->forward(c.ids, c.types, c.mask);
      out.push_back(c);
    }
  }
  return out;
}

torch::jit::Module save_and_load(torch::jit::Module& module, const std::string& name) {
  const std::string path = attune::testing::temp_dir("export-" + name) + "/model.pt";
  module.save(path);
  return torch::jit::load(path);
}

double max_diff(torch::jit::Module& module, const std::vector<Case>& cs) {
  torch::NoGradGuard no_grad;
  double worst = 0.0;
  for (const auto& c : cs) {
    std::vector<torch::jit::IValue> inputs = {c.ids, c.mask};
    if (c.types.defined()) inputs.push_back(c.types);
    const torch::Tensor got = module.forward(inputs).toTensor();
    REQUIRE(got.sizes() == c.expected.sizes());
    worst = std::max(worst, (got - c.expected).abs().max().item<double>());
  }
  return worst;
}

double export_and_compare(const Variant& v, uint64_t seed) {
  RunModel run = tiny_classifier(v, seed);
  const std::vector<Case> cs = cases(run);  // before merging changes the model
  attune::classification::ScriptedRun scripted = attune::classification::script_run_model(run);
  torch::jit::Module loaded = save_and_load(scripted.module, "variant");
  return max_diff(loaded, cs);
}

const std::vector<std::string> kActivations = {"gelu", "gelu_new", "relu", "silu"};

}  // namespace

TEST_CASE("exported classifiers match attune's logits for every PEFT method, pooling and layer norm", "[export]") {
  const std::vector<Variant> methods = {
      {"full", "", false, ""},
      {"lora", "", false, "", {{"r", 4}, {"lora_alpha", 8}, {"target_modules", {"query", "value", "dense"}}}},
      {"adalora", "", false, "", {{"init_r", 6}, {"target_r", 4}}},
      {"ia3", "", false, ""},  // key/value scaled at the output, output.dense at the input
      {"bitfit", "", false, ""},
      {"bottleneck", "", false, "", {{"reduction_factor", 4}, {"target_modules", {"output.dense"}}}},
      {"bottleneck", "", false, "", {{"reduction_factor", 2}, {"non_linearity", "gelu_new"},
                                     {"target_modules", {"query", "value", "output.dense", "pooler.dense"}}}},
      {"prefix_tuning", "", false, "", {{"num_virtual_tokens", 5}}},
      {"prefix_tuning", "", false, "", {{"num_virtual_tokens", 3}, {"prefix_projection", true}, {"encoder_hidden_size", 8}}},
  };
  double worst = 0.0;
  int n = 0;
  for (const auto& base : methods) {
    for (const std::string pooling : {"cls", "mean"}) {
      for (bool pre_ln : {false, true}) {
        Variant v = base;
        v.pooling = pooling;
        v.pre_layer_norm = pre_ln;
        v.activation = kActivations[n % kActivations.size()];
        CAPTURE(describe(v));
        const double diff = export_and_compare(v, 100 + n++);
        CHECK(diff < 1e-5);
        worst = std::max(worst, diff);
      }
    }
  }
  CHECK(worst < 1e-5);  // with -s: the largest difference over all variants
  // Soft attention pooling (full fine-tuning only), its query moved off zero.
  for (bool pre_ln : {false, true}) {
    Variant v{"full", "attention", pre_ln, "gelu"};
    CAPTURE(describe(v));
    CHECK(export_and_compare(v, 300 + pre_ln) < 1e-5);
  }
}

TEST_CASE("exported classifiers match attune's logits with every activation", "[export]") {
  int n = 0;
  for (const auto& activation : kActivations) {
    for (const std::string method : {"full", "bottleneck"}) {
      Variant v{method, n % 2 ? "cls" : "mean", n % 3 == 0, activation};
      if (method == "bottleneck") v.peft = {{"non_linearity", activation}, {"reduction_factor", 4}};
      CAPTURE(describe(v));
      CHECK(export_and_compare(v, 500 + n++) < 1e-5);
    }
  }
}

TEST_CASE("the exported forward keeps its documented signature and records what was merged", "[export]") {
  RunModel lora = tiny_classifier({"lora", "cls", false, "gelu"}, 1);
  const auto scripted = attune::classification::script_run_model(lora);
  CHECK(scripted.peft == json({{"method", "lora"}, {"merged", true}}));
  const std::string schema = c10::toString(scripted.module.get_method("forward").function().getSchema());
  CHECK(schema.find("Tensor input_ids, Tensor attention_mask, Tensor? token_type_ids=None) -> Tensor") !=
        std::string::npos);
  // Plain tensors only: attribute names have no dots, and nothing trains.
  for (const auto& p : scripted.module.named_parameters()) {
    CAPTURE(p.name);
    CHECK_FALSE(p.value.requires_grad());
  }
  RunModel prefix = tiny_classifier({"prefix_tuning", "mean", false, "gelu", {{"num_virtual_tokens", 4}}}, 2);
  CHECK(attune::classification::script_run_model(prefix).peft == json({{"method", "prefix_tuning"}, {"merged", false}}));
  // Sequences up to the position embeddings left after the prefix; longer ones are refused.
  torch::jit::Module m = attune::classification::script_run_model(prefix).module;
  CHECK(m.forward({torch::ones({2, 60}, torch::kLong), torch::ones({2, 60}, torch::kLong)}).toTensor().sizes() ==
        std::vector<int64_t>{2, 3});
  CHECK_THROWS(m.forward({torch::ones({2, 61}, torch::kLong), torch::ones({2, 61}, torch::kLong)}));
}

namespace {

// A bundle with a tiny scripted module and one more file.
void write_test_bundle(const std::string& out, bool overwrite, const std::string& note = "hello") {
  torch::jit::Module m(c10::QualifiedName("__torch__.attune.Double0"));
  m.define("def forward(self, x: Tensor) -> Tensor:\n    return x * 2\n");
  json manifest = attune::bundle::base_manifest("text-classification");
  manifest["model"] = {{"file", "model.pt"}};
  manifest["inputs"] = json::array({{{"name", "x"}}});
  manifest["outputs"] = json::array({{{"name", "y"}}});
  attune::bundle::write_bundle(out, overwrite, manifest, [&](const std::string& dir) {
    m.save(dir + "/model.pt");
    fs::create_directories(dir + "/notes");
    std::ofstream(dir + "/notes/a.txt") << note;
  });
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void rewrite_manifest(const std::string& dir, const std::function<void(json&)>& change) {
  json m = attune::io::read_json(dir + "/manifest.json");
  change(m);
  attune::io::write_json_atomic(dir + "/manifest.json", m);
}

}  // namespace

TEST_CASE("bundles are written atomically and replaced only when asked", "[export][bundle]") {
  using attune::testing::error_of;
  const std::string root = attune::testing::temp_dir("bundle-write");
  const std::string out = root + "/b";
  write_test_bundle(out, false);
  CHECK(entries(root) == std::vector<std::string>{"b"});  // no temporary directory left beside it
  const json manifest = attune::bundle::verify_bundle(out);
  CHECK(manifest["format"] == "attune-bundle");
  CHECK(manifest["format_version"] == 1);
  CHECK(manifest["torch_version"] == TORCH_VERSION);
  CHECK(manifest["attune_version"].get<std::string>().find('.') != std::string::npos);
  REQUIRE(manifest["files"].size() == 2);
  CHECK(manifest["files"][0]["path"] == "model.pt");
  CHECK(manifest["files"][1]["path"] == "notes/a.txt");
  CHECK(manifest["files"][1]["sha256"] == attune::io::sha256_hex("hello"));
  CHECK(manifest["files"][1]["bytes"] == 5);
  auto bundle = attune::bundle::load_bundle(out);
  CHECK(bundle.module.forward({torch::ones({2})}).toTensor().sum().item<double>() == 4.0);

  CHECK(error_of([&] { write_test_bundle(out, false); }) ==
        out + ": exists and is not empty (use --overwrite to replace a bundle there)");
  write_test_bundle(out, true, "again");
  CHECK(attune::io::read_file(out + "/notes/a.txt") == "again");
  CHECK(entries(root) == std::vector<std::string>{"b"});
  // An empty directory is taken as it is; a directory of other files is never replaced.
  fs::create_directories(root + "/empty");
  write_test_bundle(root + "/empty", false);
  CHECK(fs::exists(root + "/empty/manifest.json"));
  fs::create_directories(root + "/run");
  std::ofstream(root + "/run/config.json") << "{}";
  CHECK(error_of([&] { write_test_bundle(root + "/run", true); }).find("is not an attune bundle") != std::string::npos);
  CHECK(fs::exists(root + "/run/config.json"));
  // "dir/" names dir; "." and ".." name no directory of their own.
  write_test_bundle(root + "/slash/", false);
  CHECK(fs::exists(root + "/slash/manifest.json"));
  for (const char* bad : {".", "..", "./"}) {
    CHECK(error_of([&] { write_test_bundle(bad, true); }) ==
          std::string(bad) + ": give the bundle directory by its name (e.g. bundles/topics)");
  }
  attune::io::remove_tree(root + "/slash");
  // A failing payload leaves nothing behind.
  CHECK_THROWS(attune::bundle::write_bundle(root + "/failed", false, json::object(),
                                            [](const std::string&) { throw std::runtime_error("disk full"); }));
  CHECK(entries(root) == std::vector<std::string>{"b", "empty", "run"});
}

TEST_CASE("loading a bundle refuses missing, corrupted and unlisted parts with one line", "[export][bundle]") {
  using attune::testing::error_of;
  const std::string root = attune::testing::temp_dir("bundle-load");
  const std::string b = root + "/b";
  write_test_bundle(b, false);
  auto load = [&] { attune::bundle::load_bundle(b); };

  SECTION("missing model file") {
    fs::remove(b + "/model.pt");
    CHECK(error_of(load) == b + "/model.pt: missing (manifest.json lists it)");
  }
  SECTION("one byte changed") {
    std::string bytes = attune::io::read_file(b + "/model.pt");
    bytes[bytes.size() / 2] ^= 0x5a;
    attune::io::write_file_atomic(b + "/model.pt", bytes);
    CHECK(error_of(load) ==
          b + "/model.pt: SHA-256 does not match manifest.json (the file is corrupted or was changed after export)");
  }
  SECTION("truncated file") {
    const std::string bytes = attune::io::read_file(b + "/notes/a.txt");
    attune::io::write_file_atomic(b + "/notes/a.txt", bytes.substr(1));
    CHECK(error_of(load).rfind(b + "/notes/a.txt: has 4 bytes, manifest.json says 5", 0) == 0);
  }
  SECTION("manifest without a key") {
    for (const char* key : {"format", "files", "task", "model", "torch_version"}) {
      attune::io::remove_tree(b);
      write_test_bundle(b, false);
      rewrite_manifest(b, [&](json& m) { m.erase(key); });
      CHECK(error_of(load) == b + "/manifest.json: missing key '" + key + "'");
    }
    write_test_bundle(b, true);
    rewrite_manifest(b, [&](json& m) { m["files"][0].erase("sha256"); });
    CHECK(error_of(load) == b + "/manifest.json: files: missing key 'sha256'");
    write_test_bundle(b, true);
    rewrite_manifest(b, [&](json& m) { m["model"]["file"] = 3; });
    CHECK(error_of(load).rfind(b + "/manifest.json: invalid value: ", 0) == 0);
  }
  SECTION("a newer format, a path outside the bundle, an unlisted model") {
    rewrite_manifest(b, [](json& m) { m["format_version"] = 2; });
    CHECK(error_of(load).find("format_version 2 is newer than this attune reads") != std::string::npos);
    write_test_bundle(b, true);
    rewrite_manifest(b, [](json& m) { m["files"][1]["path"] = "../b/notes/a.txt"; });
    CHECK(error_of(load).find("leaves the bundle directory") != std::string::npos);
    write_test_bundle(b, true);
    rewrite_manifest(b, [](json& m) { m["files"].erase(0); });
    CHECK(error_of(load) == b + "/manifest.json: files does not list the model file");
  }
  SECTION("a model file TorchScript cannot read, with a matching checksum") {
    attune::io::write_file_atomic(b + "/model.pt", "not a zip archive");
    rewrite_manifest(b, [](json& m) {
      m["files"][0]["bytes"] = 17;
      m["files"][0]["sha256"] = attune::io::sha256_hex("not a zip archive");
    });
    const std::string message = error_of(load);
    CHECK(message.rfind(b + "/model.pt: cannot load the TorchScript model: ", 0) == 0);
    CHECK(message.find('\n') == std::string::npos);
  }
  SECTION("not a bundle") {
    CHECK(error_of([&] { attune::bundle::load_bundle(root + "/none"); }) == root + "/none: bundle directory does not exist");
    CHECK(error_of([&] { attune::bundle::load_bundle(root); }) == root + ": not an attune bundle (no manifest.json)");
  }
}

TEST_CASE("ATTUNE_INT8_ENGINE picks the int8 engine and names itself when the engine is not there", "[export]") {
  const std::string chosen = attune::script::use_int8_engine();
  CHECK_FALSE(chosen.empty());
  ::setenv("ATTUNE_INT8_ENGINE", "abacus", 1);
  const std::string error = attune::testing::error_of([] { attune::script::use_int8_engine(); });
  ::setenv("ATTUNE_INT8_ENGINE", chosen.c_str(), 1);
  const std::string again = attune::script::use_int8_engine();
  ::unsetenv("ATTUNE_INT8_ENGINE");
  CHECK(error == "ATTUNE_INT8_ENGINE: this LibTorch has no quantized engine 'abacus' (choose onednn, fbgemm or "
                 "qnnpack, or unset it)");
  CHECK(again == chosen);
}

TEST_CASE("bfloat16 classifiers give float32 logits close to float32's, with every pooling, prefixes, biases and "
          "context", "[export][bf16]") {
  const std::vector<Variant> variants = {
      {"full", "mean", false, "gelu"},
      {"full", "cls", true, "gelu"},
      {"lora", "mean", false, "gelu", {{"r", 4}, {"lora_alpha", 8}, {"target_modules", {"query", "value"}}}},
      {"full", "attention", true, "gelu"},
      {"prefix_tuning", "mean", false, "gelu", {{"num_virtual_tokens", 3}}},
      {"bottleneck", "cls", false, "gelu"},
      {"full", "mean", false, "gelu", json::object(), {{"position_bias", "alibi"}}},
      {"full", "attention", false, "gelu", json::object(), {{"context_size", 2}}},
      // Other encoder families; DeBERTa's relative buckets are an int64 buffer that stays int64.
      {"full", "cls", false, "", json::object(),
       {{"name", "modernbert"}, {"hidden_size", 16}, {"num_layers", 3}, {"num_heads", 2}, {"intermediate_size", 12},
        {"max_length", 64}, {"local_window", 4}}},
      {"full", "cls", false, "", json::object(),
       {{"name", "deberta"}, {"hidden_size", 16}, {"num_layers", 2}, {"num_heads", 4}, {"intermediate_size", 24},
        {"max_length", 64}, {"position_buckets", 8}}},
  };
  int n = 0;
  for (const Variant& v : variants) {
    CAPTURE(describe(v));
    RunModel run = tiny_classifier(v, 900 + n++);
    const bool context = v.switches.contains("context_size");
    torch::NoGradGuard no_grad;
    const torch::Tensor ids = torch::randint(5, kVocab, {4, 11}, torch::kLong);
    torch::Tensor mask = torch::ones({4, 11}, torch::kLong);
    mask[3].narrow(0, 6, 5).zero_();
    const torch::Tensor raw_context = torch::randn({4, 2}) * 3.0 + 1.0;
    const torch::Tensor expected = run.model->forward(ids, {}, mask, context ? raw_context : torch::Tensor());
    torch::jit::Module scripted = attune::classification::script_run_model(run, attune::bundle::Precision::kBFloat16).module;
    for (const auto& p : scripted.parameters()) CHECK(p.scalar_type() == torch::kBFloat16);
    torch::jit::Module m = save_and_load(scripted, "bf16");
    std::vector<c10::IValue> inputs = {ids, mask, c10::IValue()};
    if (context) inputs.emplace_back(raw_context);
    const torch::Tensor got = m.forward(inputs).toTensor();
    CHECK(got.scalar_type() == torch::kFloat);
    // bfloat16 keeps 8 bits of mantissa: a relative error near 2^-8 per operation.
    const double scale = expected.abs().max().item<double>();
    CHECK((got - expected).abs().max().item<double>() < 0.05 * std::max(1.0, scale));
    CHECK((got - expected).abs().max().item<double>() > 0.0);
  }
}

}  // namespace attune::export_test

namespace attune::export_test {

TEST_CASE("exported classifiers keep the attention switches: masks, position biases, layer fusion", "[export][switches]") {
  const json window = {{"attention_mask", {{"window", 2}}}};
  const json global = {{"attention_mask", {{"any", {{{"block", 3}}, {{"global", {0}}}}}}}};
  const std::vector<json> switches = {
      window,
      global,
      {{"position_bias", "alibi"}},
      {{"position_bias", "relative"}, {"relative_max_distance", 3}},
      {{"layer_fusion", true}},
      {{"attention_mask", {{"window", 3}}}, {"position_bias", "relative"}, {"relative_max_distance", 5}, {"layer_fusion", true}},
  };
  int n = 0;
  for (const auto& sw : switches) {
    for (bool pre_ln : {false, true}) {
      Variant v{"full", n % 2 ? "mean" : "cls", pre_ln, "gelu"};
      v.switches = sw;
      CAPTURE(describe(v));
      CHECK(export_and_compare(v, 400 + n++) < 1e-5);
    }
  }
  // Parameter-free switches work with PEFT, prefix tuning's extra keys included.
  for (const json& sw : {window, json{{"position_bias", "alibi"}}, global}) {
    Variant v{"prefix_tuning", "mean", false, "gelu", {{"num_virtual_tokens", 4}}};
    v.switches = sw;
    CAPTURE(describe(v));
    CHECK(export_and_compare(v, 500 + n++) < 1e-5);
  }
}

TEST_CASE("exported classifiers of every model_type match attune's logits, with PEFT, prefixes and context",
          "[export][hfarch]") {
  // RoBERTa's positions from the input ids, DistilBERT without token types (learned and
  // sinusoidal positions), ELECTRA's embeddings_project; each with its pooler activation.
  const std::vector<json> types = {{{"model_type", "roberta"}},
                                   {{"model_type", "xlm-roberta"}},
                                   {{"model_type", "distilbert"}},
                                   {{"model_type", "distilbert"}, {"sinusoidal_positions", true}},
                                   {{"model_type", "electra"}, {"embedding_size", 8}},
                                   {{"model_type", "electra"}}};
  const std::vector<Variant> methods = {
      {"full", "", false, ""},
      {"lora", "", false, "", {{"r", 4}, {"target_modules", {"query", "value"}}}},
      {"bottleneck", "", false, "", {{"reduction_factor", 4}, {"target_modules", {"output.dense"}}}},
      {"prefix_tuning", "", false, "", {{"num_virtual_tokens", 3}}},
  };
  int n = 0;
  for (const auto& type : types) {
    for (const auto& base : methods) {
      Variant v = base;
      v.pooling = n % 2 ? "mean" : "cls";
      v.activation = kActivations[n % kActivations.size()];
      v.switches = type;
      if (type["model_type"] == "distilbert" && v.method == "lora") v.peft["target_modules"] = {"q_lin", "v_lin"};
      if (type["model_type"] == "distilbert" && v.method == "bottleneck") v.peft["target_modules"] = {"out_lin"};
      CAPTURE(describe(v));
      CHECK(export_and_compare(v, 700 + n++) < 1e-5);
    }
  }
  // Context-conditioned attention on RoBERTa's and DistilBERT's embeddings.
  for (const std::string type : {"roberta", "distilbert"}) {
    CAPTURE(type);
    RunModel run = tiny_classifier({"full", "cls", false, "gelu", json::object(),
                                    {{"model_type", type}, {"context_size", 2}}}, 800);
    torch::NoGradGuard no_grad;
    const torch::Tensor ids = torch::randint(5, kVocab, {3, 7}, torch::kLong);
    torch::Tensor mask = torch::ones({3, 7}, torch::kLong);
    mask[2].narrow(0, 4, 3).zero_();
    const torch::Tensor context = torch::randn({3, 2});
    const torch::Tensor expected = run.model->forward(ids, {}, mask, context);
    torch::jit::Module scripted = attune::classification::script_run_model(run).module;
    torch::jit::Module m = save_and_load(scripted, "context-arch");
    const torch::Tensor got = m.forward({ids, mask, c10::IValue(), context}).toTensor();
    CHECK((got - expected).abs().max().item<double>() < 1e-5);
  }
}

TEST_CASE("exported ModernBERT and DeBERTa classifiers match attune's logits, with every pooling and PEFT",
          "[export][modernbert][deberta]") {
  // ModernBERT: local windows shorter than the inputs, mean pooling in its head, biases;
  // DeBERTa: v3's shared keys and buckets, and v2's absolute positions, token types and
  // embedding projection with c2p alone.
  const json modernbert = {{"name", "modernbert"}, {"hidden_size", 16}, {"num_layers", 4}, {"num_heads", 2},
                           {"intermediate_size", 12}, {"max_length", 64}, {"local_window", 4}, {"global_every", 3}};
  json modernbert_mean = modernbert;
  modernbert_mean.update({{"pooling", "mean"}, {"norm_bias", true}, {"mlp_bias", true}, {"global_every", 2}});
  const json deberta = {{"name", "deberta"}, {"hidden_size", 16}, {"num_layers", 2}, {"num_heads", 4},
                        {"intermediate_size", 24}, {"max_length", 64}, {"position_buckets", 8}};
  json deberta_v2 = deberta;
  deberta_v2.update({{"relative_attention", true}, {"position_buckets", -1}, {"max_relative_positions", 6},
                     {"pos_att_type", {"c2p"}}, {"share_att_key", false}, {"position_biased_input", true},
                     {"type_vocab_size", 2}, {"embedding_size", 8}, {"norm_rel_ebd", "none"}});
  int n = 0;
  for (const json& section : {modernbert, modernbert_mean, deberta, deberta_v2}) {
    const bool is_modernbert = section["name"] == "modernbert";
    const std::vector<Variant> methods = {
        {"full", "", false, ""},
        {"lora", "", false, "", {{"r", 4}, {"target_modules", is_modernbert ? json{"Wqkv", "Wo", "Wi"}
                                                                             : json{"query_proj", "value_proj", "dense"}}}},
        {"bottleneck", "", false, "", {{"reduction_factor", 4},
                                       {"target_modules", is_modernbert ? json{"mlp.Wo"} : json{"output.dense"}}}},
    };
    for (const auto& base : methods) {
      for (const std::string pooling : {"cls", "mean", "attention"}) {
        if (pooling == "attention" && base.method != "full") continue;  // its query is not a PEFT module
        Variant v = base;
        v.pooling = pooling;
        v.switches = section;
        CAPTURE(describe(v));
        CHECK(export_and_compare(v, 900 + n++) < 1e-5);
      }
    }
  }
}

}  // namespace attune::export_test
