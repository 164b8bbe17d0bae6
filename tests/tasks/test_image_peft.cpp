// PEFT on image classification, from transformers' own ViTForImageClassification
// (tests/fixtures/vit/hf-imgcls-c1): LoRA and IA3 runs train only their adapter and the
// classifier, save it under PEFT's names for that model, load it back onto the
// fixture's weights, resume exactly, and export, merge and convert with it folded in.
#include "tests/catch.h"

#include "core/config.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "data/readers/idx.h"
#include "models/peft/config.h"
#include "models/peft/targets.h"
#include "models/vit/checkpoint.h"
#include "tasks/image_classification/config.h"
#include "tasks/image_classification/export.h"
#include "tasks/image_classification/hf_export.h"
#include "tasks/image_classification/peft.h"
#include "tasks/image_classification/task.h"
#include "tasks/registry.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;
using attune::testing::error_of;
namespace ic = attune::image_classification;

namespace image_peft {

const std::string kVitpFixture = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/vit/hf-imgcls-c1";
const std::string kVitpPrefix = "base_model.model.";

// 32x32 grey quadrant images, the fixture's size and channels.
std::string vitp_images(const std::string& name) {
  const std::string dir = attune::testing::temp_dir(name);
  attune::testing::write_quadrants(dir, "train", 80, 32, 11);
  attune::testing::write_quadrants(dir, "test", 12, 32, 12);
  return dir;
}

json vitp_config(const std::string& dir, const std::string& run, const std::vector<std::string>& peft) {
  json config = ic::default_config();
  attune::config::apply_overrides(config, {"init=hf:" + kVitpFixture, "data.train_images=" + dir + "/train-images",
                                           "data.train_labels=" + dir + "/train-labels",
                                           "data.test_images=" + dir + "/test-images",
                                           "data.test_labels=" + dir + "/test-labels", "data.valid_size=16",
                                           "augment.crop_padding=0", "augment.horizontal_flip=false",
                                           "train.epochs=2", "train.batch_size=16", "train.lr=1e-2",
                                           "train.checkpoint_every=3", "device=cpu", "run_dir=" + dir + "/" + run});
  attune::config::apply_overrides(config, peft);
  return config;
}

attune::engine::TrainFlags vitp_quiet(std::ostringstream& log) {
  attune::engine::TrainFlags f;
  f.log = &log;
  return f;
}

torch::Tensor vitp_test_images(const std::string& dir) {
  return attune::data::read_idx_images(dir + "/test-images", dir + "/test-labels").images;
}

torch::Tensor vitp_logits(ic::ImageRun& run, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  return run.model->forward(ic::to_input(images, run.mean, run.std, run.model->options().channels()));
}

std::vector<json> vitp_lines(const std::string& text) {
  std::istringstream in(text);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

double vitp_largest_difference(const std::vector<json>& a, const std::vector<json>& b) {
  REQUIRE(a.size() == b.size());
  double most = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i]["label"] == b[i]["label"]);
    for (const auto& [label, p] : a[i]["probabilities"].items()) {
      most = std::max(most, std::abs(p.get<double>() - b[i]["probabilities"][label].get<double>()));
    }
  }
  return most;
}

// A name of transformers' refactored ViT ("vit.layers.0.attention.q_proj") as the fixture,
// saved before the refactor, names it ("vit.encoder.layer.0.attention.attention.query").
std::string vitp_legacy_name(std::string name) {
  const std::string layers = "vit.layers.";
  if (name.rfind(layers, 0) != 0) return name;
  name = "vit.encoder.layer." + name.substr(layers.size());
  for (const auto& [after, before] : std::vector<std::pair<std::string, std::string>>{
           {".attention.q_proj.", ".attention.attention.query."}, {".attention.k_proj.", ".attention.attention.key."},
           {".attention.v_proj.", ".attention.attention.value."}, {".attention.o_proj.", ".attention.output.dense."},
           {".mlp.fc1.", ".intermediate.dense."}, {".mlp.fc2.", ".output.dense."}}) {
    const size_t at = name.find(after);
    if (at != std::string::npos) return name.replace(at, after.size(), before);
  }
  return name;
}

// The fixture's tensor that a PEFT file key adapts or saves ("...query.lora_A.weight" ->
// "...query.weight", "...key.ia3_l" -> "...key.weight"), in the fixture's names.
std::string vitp_adapted_tensor(const std::string& key) {
  std::string name = key.substr(kVitpPrefix.size());
  for (const char* part : {".lora_A.", ".lora_B."}) {
    const size_t at = name.find(part);
    if (at != std::string::npos) name = name.substr(0, at) + ".weight";
  }
  const std::string ia3 = ".ia3_l";
  if (name.size() > ia3.size() && name.compare(name.size() - ia3.size(), ia3.size(), ia3) == 0) {
    name = name.substr(0, name.size() - ia3.size()) + ".weight";
  }
  return vitp_legacy_name(name);
}

}  // namespace image_peft

// Named, not anonymous: the unity build puts this file beside others with helpers of these names.
using namespace image_peft;

TEST_CASE("ViT module paths under transformers' names select the same PEFT layers as attune's", "[image][peft]") {
  using attune::models::vit_hf_path;
  CHECK(vit_hf_path("layers.1.attention.self.query") == "vit.encoder.layer.1.attention.attention.query");
  CHECK(vit_hf_path("layers.0.attention.output.LayerNorm.bias") == "vit.encoder.layer.0.layernorm_before.bias");
  CHECK(vit_hf_path("layers.0.output.dense") == "vit.encoder.layer.0.output.dense");
  CHECK(vit_hf_path("layers.1") == "vit.encoder.layer.1");
  CHECK(vit_hf_path("layers.1.attention.self") == "vit.encoder.layer.1.attention.attention");
  CHECK(vit_hf_path("head") == "classifier");
  CHECK(vit_hf_path("norm.weight") == "vit.layernorm.weight");
  CHECK(vit_hf_path("attention_query") == "attention_query");  // transformers has none: kept
  // The names of transformers' ViT since its refactor (transformers 5.17's).
  using attune::models::VitHfNames;
  CHECK(vit_hf_path("layers.1.attention.self.query", VitHfNames::refactored) == "vit.layers.1.attention.q_proj");
  CHECK(vit_hf_path("layers.1.attention.self.value.weight", VitHfNames::refactored) ==
        "vit.layers.1.attention.v_proj.weight");
  CHECK(vit_hf_path("layers.0.attention.output.dense", VitHfNames::refactored) == "vit.layers.0.attention.o_proj");
  CHECK(vit_hf_path("layers.0.intermediate.dense", VitHfNames::refactored) == "vit.layers.0.mlp.fc1");
  CHECK(vit_hf_path("layers.0.output.dense.bias", VitHfNames::refactored) == "vit.layers.0.mlp.fc2.bias");
  CHECK(vit_hf_path("layers.0.output.LayerNorm.weight", VitHfNames::refactored) ==
        "vit.layers.0.layernorm_after.weight");
  CHECK(vit_hf_path("layers.1.attention.self", VitHfNames::refactored) == "vit.layers.1.attention");
  CHECK(vit_hf_path("layers", VitHfNames::refactored) == "vit.layers");
  CHECK(vit_hf_path("norm.weight", VitHfNames::refactored) == "vit.layernorm.weight");
  CHECK(vit_hf_path("head", VitHfNames::refactored) == "classifier");
  CHECK(vit_hf_path("layers.0.attention.self.query", VitHfNames::legacy) ==
        "vit.encoder.layer.0.attention.attention.query");

  auto make = [] {
    torch::manual_seed(3);
    return attune::models::VisionTransformer(
        attune::models::VisionTransformerOptions(8, 4, 3).hidden_size(16).num_layers(2).num_heads(2).mlp_size(24));
  };
  auto by_list = make(), by_regex = make();
  const auto list = ic::add_run_adapter(by_list, attune::peft::resolve({{"method", "lora"}, {"r", 2}}));
  // A regular expression over transformers' paths, as PEFT configs written for
  // ViTForImageClassification give them, and the classifier under its name there.
  const auto regex = ic::add_run_adapter(
      by_regex, attune::peft::resolve({{"method", "lora"},
                                       {"r", 2},
                                       {"target_modules", "vit\\.encoder\\.layer\\.\\d+\\.attention\\.attention\\.(query|value)"},
                                       {"modules_to_save", {"classifier"}}}));
  CHECK(attune::peft::linear_adapter_paths(*by_list) ==
        std::vector<std::string>{"layers.0.attention.self.query.default", "layers.0.attention.self.value.default",
                                 "layers.1.attention.self.query.default", "layers.1.attention.self.value.default"});
  CHECK(attune::peft::linear_adapter_paths(*by_regex) == attune::peft::linear_adapter_paths(*by_list));
  // r * (in + out) per layer, two layers of query and value, and the head (16 * 3 + 3).
  CHECK(list->count().trainable == 2 * 2 * 2 * (16 + 16) + 16 * 3 + 3);
  CHECK(regex->count().trainable == list->count().trainable);
  // The same layers by the names of transformers' refactored ViT, as a list (the unset
  // default) and as a regular expression, and by the old names as a list.
  for (const json& targets : {json({"q_proj", "v_proj"}), json("vit\\.layers\\.\\d+\\.attention\\.(q|v)_proj"),
                              json({"query", "value"})}) {
    INFO(targets.dump());
    auto model = make();
    ic::add_run_adapter(model, attune::peft::resolve({{"method", "lora"}, {"r", 2}, {"target_modules", targets}}));
    CHECK(attune::peft::linear_adapter_paths(*model) == attune::peft::linear_adapter_paths(*by_list));
  }
  // A list that names some layers only the old way and others only the new way fits no
  // transformers: one line naming the key.
  auto mixed = make();
  const std::string error = error_of([&] {
    ic::add_run_adapter(mixed, attune::peft::resolve({{"method", "lora"}, {"r", 2}, {"target_modules", {"query", "v_proj"}}}));
  });
  CHECK(error.find("peft.target_modules") != std::string::npos);
  CHECK(error.find("mixes transformers' two namings of ViT's layers") != std::string::npos);
  for (const auto& p : by_list->named_parameters()) {
    CAPTURE(p.key());
    const bool adapter = p.key().find(".default.") != std::string::npos;
    CHECK(p.value().requires_grad() == (adapter || p.key().rfind("head.", 0) == 0));
  }
}

TEST_CASE("LoRA and IA3 image runs train their adapter and the classifier, saved under PEFT's names for "
          "ViTForImageClassification, and load back onto the transformers checkpoint",
          "[image][peft]") {
  const std::string dir = vitp_images("image-peft");
  const auto fixture = attune::formats::load_safetensors(kVitpFixture + "/model.safetensors");
  // Unset target_modules take the names of transformers' refactored ViT (transformers 5.17's);
  // "lora-legacy" names the layers the old way, as PEFT's ViT example and adapters made
  // before the refactor do, and its file keeps those names.
  for (const std::string name : {"lora", "ia3", "lora-legacy"}) {
    INFO(name);
    const bool legacy = name == "lora-legacy";
    const std::string method = legacy ? "lora" : name;
    std::vector<std::string> peft = {"peft.method=" + method};
    if (legacy) peft.push_back("peft.target_modules=[\"query\",\"value\"]");
    std::ostringstream log;
    const json summary = attune::tasks::train(vitp_config(dir, name, peft), vitp_quiet(log));
    INFO(log.str());
    const std::string run_dir = dir + "/" + name;
    for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "base_model.safetensors"}) {
      CHECK(fs::exists(fs::path(run_dir) / f));
    }
    CHECK_FALSE(fs::exists(fs::path(run_dir) / "model.safetensors"));
    CHECK(log.str().find("peft: " + method + ", trainable params: ") != std::string::npos);

    // What trains: the adapter on the targeted layers of both layers, and the 4-class head.
    ic::ImageRun run = ic::load_image_run(run_dir, {}, "cpu");
    REQUIRE(run.peft);
    run.peft->set_active("default");  // trainable flags as in training
    const int64_t head = 32 * 4 + 4;
    // LoRA r=8 on query and value (32 -> 32); IA3 on key and value (out 32) and the
    // feed-forward output (in 37, the fixture's intermediate size).
    const int64_t adapter = method == "lora" ? 2 * 2 * 8 * (32 + 32) : 2 * (32 + 32 + 37);
    CHECK(run.peft->count().trainable == adapter + head);
    for (const auto& p : run.model->named_parameters()) {
      CAPTURE(p.key());
      const bool adapted = p.key().find(".default.") != std::string::npos;
      CHECK(p.value().requires_grad() == (adapted || p.key().rfind("head.", 0) == 0));
    }

    // Every key is PEFT's for transformers' model: the adapted layer's, or the saved
    // module's tensor, named as in the fixture's model.safetensors.
    const auto file = attune::formats::load_safetensors(run_dir + "/adapter_model.safetensors");
    int64_t saved = 0;
    for (const auto& key : file.names) {
      CAPTURE(key);
      REQUIRE(key.rfind(kVitpPrefix, 0) == 0);
      CHECK(fixture.tensors.count(vitp_adapted_tensor(key)));
      saved += file.tensors.at(key).numel();
    }
    CHECK(saved == adapter + head);
    CHECK(file.tensors.count("base_model.model.classifier.weight"));
    CHECK(file.tensors.count("base_model.model.classifier.bias"));
    if (legacy) {
      CHECK(file.tensors.count("base_model.model.vit.encoder.layer.0.attention.attention.query.lora_A.weight"));
      CHECK(file.tensors.count("base_model.model.vit.encoder.layer.1.attention.attention.value.lora_B.weight"));
    } else if (method == "lora") {
      CHECK(file.tensors.count("base_model.model.vit.layers.0.attention.q_proj.lora_A.weight"));
      CHECK(file.tensors.count("base_model.model.vit.layers.1.attention.v_proj.lora_B.weight"));
    } else {
      CHECK(file.tensors.count("base_model.model.vit.layers.0.attention.k_proj.ia3_l"));
      CHECK(file.tensors.at("base_model.model.vit.layers.1.mlp.fc2.ia3_l").sizes() == torch::IntArrayRef({1, 37}));
    }
    const json config = attune::io::read_json(run_dir + "/adapter_config.json");
    CHECK(config["task_type"].is_null());  // as PEFT writes its ViT example's LoraConfig
    CHECK(config["peft_type"] == (method == "lora" ? "LORA" : "IA3"));
    CHECK(config["modules_to_save"] == json({"classifier"}));
    // Training moved what it trains and nothing else.
    const auto base = attune::formats::load_safetensors(run_dir + "/base_model.safetensors");
    CHECK_FALSE(torch::equal(base.tensors.at("head.weight"), file.tensors.at("base_model.model.classifier.weight")));
    CHECK(torch::equal(base.tensors.at("layers.0.attention.self.query.weight"),
                       fixture.tensors.at("vit.encoder.layer.0.attention.attention.query.weight")));

    // The adapter alone on transformers' checkpoint (its head left out, 4 classes) is the run.
    const torch::Tensor images = vitp_test_images(dir);
    const torch::Tensor expected = vitp_logits(run, images);
    const attune::models::VitCheckpoint ck = attune::models::read_hf_vit(kVitpFixture);
    attune::models::VisionTransformer fresh(attune::models::VisionTransformerOptions(ck.options).num_classes(4));
    attune::models::load_vit_checkpoint(*fresh, ck, "hf:" + kVitpFixture, /*with_head=*/false);
    const auto fresh_peft = ic::make_peft_model(fresh);
    fresh_peft->load_adapter(run_dir, "default");
    fresh->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor got = fresh->forward(ic::to_input(images, run.mean, run.std, 1));
    CHECK(torch::allclose(got, expected, 0, 1e-6));

    // eval reads the base and the adapter as the run's test step did.
    const json again = ic::evaluate_run(run_dir, dir + "/test-images," + dir + "/test-labels", {}, "cpu");
    CHECK(again["loss"].get<double>() == Approx(summary["test"]["loss"].get<double>()).epsilon(1e-6));
    // The run's own adapter given again as --adapter is the same model.
    const json twice = ic::evaluate_run(run_dir, dir + "/test-images," + dir + "/test-labels", {}, "cpu", {run_dir});
    CHECK(twice["loss"].get<double>() == Approx(again["loss"].get<double>()).epsilon(1e-6));
  }
}

TEST_CASE("an interrupted LoRA image run resumes to the uninterrupted run's adapter", "[image][peft][resume]") {
  const std::string dir = vitp_images("image-peft-resume");
  std::ostringstream log;
  const std::vector<std::string> lora = {"peft.method=lora", "peft.r=4", "train.epochs=3"};
  attune::tasks::train(vitp_config(dir, "a", lora), vitp_quiet(log));
  auto flags = vitp_quiet(log);
  flags.stop_requested = [](int64_t step) { return step == 5; };  // mid-epoch, after the checkpoint at 4
  const json stopped = attune::tasks::train(vitp_config(dir, "c", lora), flags);
  CHECK(stopped["interrupted"] == true);
  auto resume = vitp_quiet(log);
  resume.resume = true;
  const json resumed = attune::tasks::train(attune::io::read_json(dir + "/c/config.json"), resume);
  INFO(log.str());
  CHECK(resumed["interrupted"] == false);
  const auto a = attune::formats::load_safetensors(dir + "/a/adapter_model.safetensors");
  const auto c = attune::formats::load_safetensors(dir + "/c/adapter_model.safetensors");
  REQUIRE(a.names == c.names);
  for (const auto& name : a.names) {
    INFO(name);
    CHECK(torch::equal(a.tensors.at(name), c.tensors.at(name)));
  }
}

TEST_CASE("a LoRA image run exports, merges and converts to transformers with its adapter folded in",
          "[image][peft][export]") {
  const std::string dir = vitp_images("image-peft-export");
  std::ostringstream log;
  attune::tasks::train(vitp_config(dir, "run", {"peft.method=lora", "peft.use_rslora=true"}), vitp_quiet(log));
  const std::string run_dir = dir + "/run";
  ic::ImageRun run = ic::load_image_run(run_dir, {}, "cpu");
  const torch::Tensor images = vitp_test_images(dir);
  const torch::Tensor expected = vitp_logits(run, images);

  // The bundle predicts as the run (adapter unmerged) does.
  const json summary = ic::export_run(run_dir, dir + "/bundle", false, false);
  CHECK(summary["check_max_abs_diff"].get<double>() < 1e-5);
  CHECK(summary["peft"] == json({{"method", "lora"}, {"merged", true}}));
  CHECK(attune::io::read_json(dir + "/bundle/manifest.json")["peft"] == summary["peft"]);
  auto predict_text = [&](bool bundle) {
    std::ifstream in(dir + "/test-images", std::ios::binary);
    std::ostringstream out;
    if (bundle) {
      ic::predict_bundle(dir + "/bundle", in, "test-images", out, "cpu", 5);
    } else {
      ic::predict_run(run_dir, in, "test-images", out, "cpu", 5);
    }
    return vitp_lines(out.str());
  };
  CHECK(vitp_largest_difference(predict_text(false), predict_text(true)) < 1e-5);

  // attune merge: a plain run with the same logits.
  const json merged = ic::merge_run(run_dir, dir + "/merged", {});
  CHECK(merged["method"] == "lora");
  CHECK(fs::exists(dir + "/merged/model.safetensors"));
  ic::ImageRun plain = ic::load_image_run(dir + "/merged", {}, "cpu");
  CHECK_FALSE(plain.peft);
  CHECK(torch::allclose(vitp_logits(plain, images), expected, 0, 1e-5));

  // convert --to-hf: transformers' folder holds the merged weights.
  const json hf = ic::export_hf(run_dir, dir + "/hf");
  CHECK(hf["peft"] == json({{"method", "lora"}, {"merged", true}}));
  const attune::models::VitCheckpoint back = attune::models::read_hf_vit(dir + "/hf");
  const auto fixture = attune::formats::load_safetensors(kVitpFixture + "/model.safetensors");
  for (const auto& [name, t] : attune::formats::module_tensors(*plain.model)) {
    CAPTURE(name);
    REQUIRE(back.tensors.tensors.count(name));
    CHECK(torch::allclose(back.tensors.tensors.at(name), t, 0, 1e-7));
  }
  CHECK_FALSE(torch::allclose(back.tensors.tensors.at("layers.0.attention.self.query.weight"),
                              fixture.tensors.at("vit.encoder.layer.0.attention.attention.query.weight")));
}

TEST_CASE("image PEFT refuses what cannot apply to a ViT, targets matching nothing and bad adapter folders, "
          "naming them",
          "[image][peft]") {
  const std::string dir = vitp_images("image-peft-errors");
  std::ostringstream log;
  auto error = [&](const std::vector<std::string>& overrides) {
    return error_of([&] { attune::tasks::train(vitp_config(dir, "bad", overrides), vitp_quiet(log)); });
  };
  CHECK(error({"peft.method=prefix_tuning"}).rfind("peft.method: prefix_tuning does not apply to a ViT", 0) == 0);
  CHECK(error({"peft.method=lora", "model.pooling=attention"}).rfind("model.pooling: attention pooling's query", 0) == 0);
  CHECK(error({"peft.method=lora", "model.layer_fusion=true"}).rfind("model.layer_fusion: ", 0) == 0);
  CHECK(error({"peft.method=lora", "peft.target_modules=[\"nothing\"]"}) ==
        "peft.target_modules: [\"nothing\"] matches no linear layer of the model (paths look like "
        "'layers.0.attention.self.query')");
  CHECK(error({"peft.method=ia3", "peft.r=4"}) == "peft.r: does not apply to method 'ia3'");

  attune::tasks::train(vitp_config(dir, "lora", {"peft.method=lora", "train.epochs=1"}), vitp_quiet(log));
  const std::string run_dir = dir + "/lora";
  const std::string data = dir + "/test-images," + dir + "/test-labels";
  CHECK(error_of([&] { ic::evaluate_run(run_dir, data, {}, "cpu", {dir + "/nowhere"}); }) ==
        dir + "/nowhere: not an adapter directory (no adapter_config.json)");
  // An adapter file without a tensor its config asks for.
  const std::string broken = dir + "/broken";
  fs::create_directories(broken);
  fs::copy_file(run_dir + "/adapter_config.json", broken + "/adapter_config.json");
  auto file = attune::formats::load_safetensors(run_dir + "/adapter_model.safetensors");
  attune::formats::NamedTensors kept;
  for (const auto& name : file.names) {
    if (name != "base_model.model.classifier.bias") kept.emplace_back(name, file.tensors.at(name));
  }
  attune::formats::save_safetensors(broken + "/adapter_model.safetensors", kept);
  CHECK(error_of([&] { ic::evaluate_run(run_dir, data, {}, "cpu", {broken}); }) ==
        broken + "/adapter_model.safetensors: tensor 'base_model.model.classifier.bias' missing from the file (the "
                 "adapter config expects it)");
  // A full fine-tuning run takes no adapter, and has none to merge.
  attune::tasks::train(vitp_config(dir, "full", {"train.epochs=1"}), vitp_quiet(log));
  CHECK(error_of([&] { ic::evaluate_run(dir + "/full", data, {}, "cpu", {run_dir}); }) ==
        dir + "/full: --adapter needs a PEFT run (this run fine-tuned every weight)");
  CHECK(error_of([&] { ic::merge_run(dir + "/full", dir + "/merged", {}); }) ==
        dir + "/full: not a PEFT run: its model.safetensors already holds every weight");
}

TEST_CASE("ViT bottleneck adapters are scripted as they are and refused by --to-hf; BitFit saves the fixture's biases",
          "[image][peft][export]") {
  const std::string dir = vitp_images("image-peft-other");
  std::ostringstream log;
  attune::tasks::train(vitp_config(dir, "bottleneck", {"peft.method=bottleneck", "train.epochs=1"}), vitp_quiet(log));
  const std::string bottleneck = dir + "/bottleneck";
  const json summary = ic::export_run(bottleneck, dir + "/bundle", false, false);
  CHECK(summary["peft"] == json({{"method", "bottleneck"}, {"merged", false}}));
  CHECK(summary["check_max_abs_diff"].get<double>() < 1e-5);
  CHECK(error_of([&] { ic::export_hf(bottleneck, dir + "/hf"); }) ==
        bottleneck + ": cannot export to transformers: bottleneck adapters do not fold into the weights; give PEFT "
                     "the run's adapter files instead");

  attune::tasks::train(vitp_config(dir, "bitfit", {"peft.method=bitfit", "train.epochs=1"}), vitp_quiet(log));
  const auto fixture = attune::formats::load_safetensors(kVitpFixture + "/model.safetensors");
  const auto file = attune::formats::load_safetensors(dir + "/bitfit/adapter_model.safetensors");
  int64_t biases = 0;
  for (const auto& key : file.names) {
    CAPTURE(key);
    REQUIRE(key.rfind(kVitpPrefix, 0) == 0);
    CHECK(fixture.tensors.count(vitp_legacy_name(key.substr(kVitpPrefix.size()))));
    biases += key.size() > 5 && key.compare(key.size() - 5, 5, ".bias") == 0;
  }
  CHECK(file.tensors.count("base_model.model.vit.layers.1.mlp.fc1.bias"));
  CHECK(file.tensors.count("base_model.model.vit.layernorm.bias"));
  CHECK(biases + 1 == static_cast<int64_t>(file.names.size()));  // and the classifier's weight
}

TEST_CASE("a ViT folder whose tensors carry the names of transformers' refactored ViT reads as the old names do",
          "[image][hf]") {
  using attune::models::VitHfNames;
  const attune::models::VitCheckpoint legacy = attune::models::read_hf_vit(kVitpFixture);
  const std::string dir = attune::testing::temp_dir("vit-refactored-names");
  for (const char* f : {"config.json", "preprocessor_config.json"}) {
    fs::copy_file(kVitpFixture + "/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
  }
  attune::formats::NamedTensors renamed;
  for (const auto& name : legacy.tensors.names) {
    renamed.emplace_back(attune::models::vit_hf_path(name, VitHfNames::refactored), legacy.tensors.tensors.at(name));
  }
  attune::formats::save_safetensors(dir + "/model.safetensors", renamed);
  const auto file = attune::formats::load_safetensors(dir + "/model.safetensors");
  CHECK(file.tensors.count("vit.layers.0.attention.q_proj.weight"));
  CHECK(file.tensors.count("vit.layers.1.mlp.fc2.bias"));
  const attune::models::VitCheckpoint refactored = attune::models::read_hf_vit(dir);
  REQUIRE(refactored.tensors.names.size() == legacy.tensors.names.size());
  for (const auto& name : legacy.tensors.names) {
    CAPTURE(name);
    REQUIRE(refactored.tensors.tensors.count(name));
    CHECK(torch::equal(refactored.tensors.tensors.at(name), legacy.tensors.tensors.at(name)));
  }
}
