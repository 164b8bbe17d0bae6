// `attune train --task image-classification --set init=hf:DIR|timm:DIR` from transformers'
// own ViT classifier and timm's VisionTransformer (tests/fixtures/vit,
// tools/parity/make_vit_fixtures.py): one epoch on generated 32x32 images, predict, the
// bundle of a 3-channel run; and the one-line refusals (exit 2) of another image size and
// of broken folders (hand-made, so they run without the fixtures).
#include "tests/catch.h"

#include "core/files.h"
#include "models/vit/checkpoint.h"
#include "tasks/image_classification/task.h"
#include "tests/common/cli.h"
#include "tests/common/cli_checks.h"
#include "tests/common/synthetic.h"
#include "tests/common/vit_fixture.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

using attune::testing::Result;
using attune::testing::run_attune;
using nlohmann::json;

namespace {

std::string vit_fixture(const std::string& name) {
  return std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/vit/" + name;
}

// `attune train --task image-classification` for one epoch of batch 8 on CPU with `sets`.
Result train_vit(const std::vector<std::string>& sets) {
  std::vector<std::string> args = {"train", "--task", "image-classification", "--set", "train.epochs=1", "--set",
                                   "train.batch_size=8", "--set", "device=cpu"};
  for (const auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return run_attune(args);
}

// The largest probability difference between two predict outputs (labels must agree).
double vit_prediction_gap(const std::string& a, const std::string& b) {
  const std::vector<json> x = attune::testing::json_lines(a), y = attune::testing::json_lines(b);
  REQUIRE(x.size() == y.size());
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK(x[i]["label"] == y[i]["label"]);
    for (const auto& item : x[i]["probabilities"].items()) {
      worst = std::max(worst, std::abs(item.value().get<double>() - y[i]["probabilities"][item.key()].get<double>()));
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("train fine-tunes an HF ViT classifier folder for one epoch, predicts and exports", "[cli][image][vit]") {
  const std::string fixture = vit_fixture("hf-imgcls-c3");
  if (!std::filesystem::is_directory(fixture)) {
    WARN("no " + fixture + " (python3 tools/parity/make_vit_fixtures.py OUT_DIR, extracted into tests/fixtures/vit): skipped");
    return;
  }
  const std::string dir = attune::testing::temp_dir("cli-vit-init");
  attune::testing::write_quadrants(dir, "train", 48, 32, 7);
  attune::testing::write_quadrants(dir, "small", 4, 8, 8);
  const std::vector<std::string> data = {"init=hf:" + fixture, "data.valid_size=8",
                                         "data.train_images=" + dir + "/train-images",
                                         "data.train_labels=" + dir + "/train-labels"};
  auto with = [&](const std::vector<std::string>& more) {
    std::vector<std::string> sets = data;
    sets.insert(sets.end(), more.begin(), more.end());
    return train_vit(sets);
  };
  // make_vit_fixtures.py gives this folder ImageNet's mean and std, one per channel: grey
  // images repeated in each channel would need three normalisations, so one must be chosen.
  attune::testing::check_user_error(with({"run_dir=" + dir + "/refused"}),
                                    "init: hf:" + fixture + " normalises each channel differently");

  const Result train = with({"run_dir=" + dir + "/run", "data.mean=0.45", "data.std=0.226"});
  INFO(train.err);
  REQUIRE(train.status == 0);
  CHECK(train.err.find("init: ViT from hf:" + fixture) != std::string::npos);
  CHECK(train.err.find("init: the head starts untrained (4 classes)") != std::string::npos);
  CHECK(json::parse(train.out)["valid"]["accuracy"].is_number());
  const json config = attune::io::read_json(dir + "/run/config.json");
  CHECK(config["init"] == "hf:" + fixture);
  CHECK(config["model"]["channels"] == 3);
  CHECK(config["model"]["hidden_size"] == 32);
  CHECK(config["model"]["num_heads"] == 4);
  CHECK(config["model"]["mlp_size"] == 37);
  CHECK(config["model"]["layer_norm_eps"].get<double>() == 1e-12);
  const Result predict = run_attune({"predict", "--run", dir + "/run", "--input", dir + "/train-images"});
  INFO(predict.err);
  REQUIRE(predict.status == 0);
  CHECK(attune::testing::json_lines(predict.out).size() == 48);

  // The bundle takes grey pixels and repeats them in the three channels itself.
  const Result exported = run_attune({"export", "--run", dir + "/run", "--out", dir + "/bundle"});
  INFO(exported.err);
  REQUIRE(exported.status == 0);
  CHECK(json::parse(exported.out)["check_max_abs_diff"].get<double>() < 1e-5);
  const Result from_bundle = run_attune({"predict", "--bundle", dir + "/bundle", "--input", dir + "/train-images"});
  INFO(from_bundle.err);
  REQUIRE(from_bundle.status == 0);
  CHECK(vit_prediction_gap(predict.out, from_bundle.out) < 1e-5);

  // Back to transformers: read_hf_vit of the folder gives the run's tensors and config,
  // and the model built from it gives the run's logits (tools/parity/vit_to_hf_check.py
  // loads such a folder in transformers itself).
  const Result to_hf = run_attune({"convert", "--run", dir + "/run", "--to-hf", dir + "/hf"});
  INFO(to_hf.err);
  REQUIRE(to_hf.status == 0);
  CHECK(json::parse(to_hf.out)["architecture"] == "ViTForImageClassification");
  const json hf_config = attune::io::read_json(dir + "/hf/config.json");
  CHECK(hf_config["num_channels"] == 3);
  CHECK(hf_config["id2label"].size() == 4);
  CHECK(attune::io::read_json(dir + "/hf/preprocessor_config.json")["image_mean"] == json({0.45, 0.45, 0.45}));
  {
    attune::image_classification::ImageRun run = attune::image_classification::load_image_run(dir + "/run", {}, "cpu");
    const attune::models::VitCheckpoint back = attune::models::read_hf_vit(dir + "/hf");
    CHECK(back.labels == run.names);
    CHECK(back.image_mean == std::vector<double>(3, 0.45));
    CHECK(back.options.layer_norm_eps() == run.model->options().layer_norm_eps());
    size_t compared = 0;
    for (const auto& item : run.model->named_parameters()) {
      INFO(item.key());
      REQUIRE(back.tensors.tensors.count(item.key()) == 1);
      CHECK(torch::equal(back.tensors.tensors.at(item.key()), item.value()));
      ++compared;
    }
    CHECK(compared == back.tensors.names.size());
    attune::models::VisionTransformer again(back.options);
    attune::models::load_vit_checkpoint(*again, back, "hf:" + dir + "/hf", /*with_head=*/true);
    again->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor images = torch::rand({3, 3, 32, 32});
    CHECK(torch::equal(again->forward(images), run.model->forward(images)));
  }
  attune::testing::check_user_error(run_attune({"convert", "--run", dir + "/run", "--to-hf", dir + "/hf"}),
                                    dir + "/hf: output directory exists and is not empty");
  attune::testing::check_user_error(
      run_attune({"convert", "--run", dir + "/run", "--to-hf", dir + "/hf2", "--encoder-only"}),
      "--encoder-only: is for BERT runs; an image run exports whole");

  attune::testing::check_user_error(
      with({"run_dir=" + dir + "/small", "data.train_images=" + dir + "/small-images",
            "data.train_labels=" + dir + "/small-labels", "data.valid_size=1", "data.mean=0.5", "data.std=0.5"}),
      "init: hf:" + fixture + " takes 32x32 images and the data are 8x8; attune does not interpolate position embeddings");
}

TEST_CASE("train fine-tunes a timm VisionTransformer folder (timm:DIR) for one epoch", "[cli][image][vit]") {
  const std::string fixture = vit_fixture("timm-c1");
  if (!std::filesystem::is_directory(fixture)) {
    WARN("no " + fixture + " (python3 tools/parity/make_vit_fixtures.py OUT_DIR, extracted into tests/fixtures/vit): skipped");
    return;
  }
  const std::string dir = attune::testing::temp_dir("cli-vit-timm");
  attune::testing::write_quadrants(dir, "train", 40, 32, 9);
  const Result train = train_vit({"init=timm:" + fixture, "data.valid_size=8", "data.train_images=" + dir + "/train-images",
                                  "data.train_labels=" + dir + "/train-labels", "run_dir=" + dir + "/run"});
  INFO(train.err);
  REQUIRE(train.status == 0);
  CHECK(train.err.find("init: ViT from timm:" + fixture + " (2 layers, width 32, 1 channel)") != std::string::npos);
  const json config = attune::io::read_json(dir + "/run/config.json");
  CHECK(config["model"]["channels"] == 1);
  CHECK(config["model"]["num_heads"] == 4);
  CHECK(config["model"]["layer_norm_eps"].get<double>() == 1e-6);
  // timm_args.json says nothing of the normalisation: the training split's statistics.
  CHECK(config["data"]["mean"].is_number());
  const Result predict = run_attune({"predict", "--run", dir + "/run", "--input", dir + "/train-images"});
  INFO(predict.err);
  REQUIRE(predict.status == 0);
  CHECK(attune::testing::json_lines(predict.out).size() == 40);
}

TEST_CASE("init=hf:DIR with a broken ViT folder exits 2 with one line naming the file and key", "[cli][image][vit]") {
  const std::string dir = attune::testing::temp_dir("cli-vit-bad");
  attune::testing::write_quadrants(dir, "train", 12, 8, 3);
  torch::manual_seed(2);
  attune::models::VisionTransformer source(attune::models::VisionTransformerOptions(8, 4, 3).channels(3).hidden_size(8)
                                               .num_heads(2).num_layers(1).mlp_size(12).layer_norm_eps(1e-12));
  const std::string hf = attune::testing::write_hf_vit(source, "cli-vit-bad-hf");
  const json config = attune::io::read_json(hf + "/config.json");
  auto train_with = [&](const json& c, const std::string& run) {
    attune::testing::write_json(hf + "/config.json", c);
    return train_vit({"init=hf:" + hf, "data.valid_size=2", "data.train_images=" + dir + "/train-images",
                      "data.train_labels=" + dir + "/train-labels", "run_dir=" + dir + "/" + run});
  };
  json missing = config;
  missing.erase("num_hidden_layers");
  attune::testing::check_user_error(train_with(missing, "missing"), hf + "/config.json: num_hidden_layers: missing");
  json wider = config;
  wider["intermediate_size"] = 16;
  attune::testing::check_user_error(train_with(wider, "shapes"),
                                    hf + "/model.safetensors: tensor 'vit.encoder.layer.0.intermediate.dense.weight' "
                                         "has shape [12, 8], the config implies [16, 8]");
  json gelu_new = config;
  gelu_new["hidden_act"] = "gelu_new";
  attune::testing::check_user_error(train_with(gelu_new, "act"),
                                    hf + "/config.json: hidden_act: attune's ViT uses exact GELU");
  attune::testing::check_user_error(train_vit({"init=timm:" + dir + "/nothing", "data.valid_size=2", "data.train_images=" + dir + "/train-images",
                                               "data.train_labels=" + dir + "/train-labels", "run_dir=" + dir + "/timm"}),
                                    dir + "/nothing: no such file");
  CHECK(!std::filesystem::exists(dir + "/missing/config.json"));
}

TEST_CASE("attune models lists the ViT imports", "[cli][vit]") {
  const Result text = run_attune({"models", "--dir", attune::testing::temp_dir("cli-vit-models")});
  REQUIRE(text.status == 0);
  CHECK(text.out.find("pretrained ViTs (attune train --task image-classification --set init=") != std::string::npos);
  CHECK(text.out.find("ViTModel ViTForImageClassification") != std::string::npos);
  CHECK(text.out.find("timm:FILE|DIR") != std::string::npos);
  const json listed = json::parse(run_attune({"models", "--json"}).out);
  REQUIRE(listed["image_imports"].size() == 2);
  CHECK(listed["image_imports"][0]["model_type"] == "vit");
}

TEST_CASE("convert --from-hf makes a run of an HF ViT classifier folder that predicts, exports and converts back",
          "[cli][image][vit][hf]") {
  const std::string fixture = vit_fixture("hf-imgcls-c1");
  if (!std::filesystem::is_directory(fixture)) {
    WARN("no " + fixture + " (python3 tools/parity/make_vit_fixtures.py OUT_DIR, extracted into tests/fixtures/vit): skipped");
    return;
  }
  const std::string dir = attune::testing::temp_dir("cli-vit-from-hf");
  attune::testing::write_quadrants(dir, "probe", 6, 32, 5);
  const Result converted = run_attune({"convert", "--from-hf", fixture, "--out", dir + "/run"});
  INFO(converted.err);
  REQUIRE(converted.status == 0);
  const json summary = json::parse(converted.out);
  CHECK(summary["task"] == "image-classification");
  CHECK(summary["architecture"] == "ViTForImageClassification");
  const json hf_config = attune::io::read_json(fixture + "/config.json");
  CHECK(summary["labels"].size() == hf_config["id2label"].size());
  const json config = attune::io::read_json(dir + "/run/config.json");
  CHECK(config["task"] == "image-classification");
  CHECK(config["data"]["mean"].get<double>() == 0.5);  // the fixture's preprocessor_config.json
  CHECK(config["data"]["image_size"] == 32);

  // The run is the checkpoint: its model gives what the folder read directly gives.
  {
    attune::image_classification::ImageRun run = attune::image_classification::load_image_run(dir + "/run", {}, "cpu");
    const attune::models::VitCheckpoint ck = attune::models::read_hf_vit(fixture);
    CHECK(run.names == ck.labels);
    attune::models::VisionTransformer direct(ck.options);
    attune::models::load_vit_checkpoint(*direct, ck, "hf:" + fixture, /*with_head=*/true);
    direct->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor images = torch::rand({3, 1, 32, 32});
    CHECK(torch::equal(direct->forward(images), run.model->forward(images)));
  }
  const Result predict = run_attune({"predict", "--run", dir + "/run", "--input", dir + "/probe-images"});
  INFO(predict.err);
  REQUIRE(predict.status == 0);
  CHECK(attune::testing::json_lines(predict.out).size() == 6);
  const Result exported = run_attune({"export", "--run", dir + "/run", "--out", dir + "/bundle"});
  INFO(exported.err);
  REQUIRE(exported.status == 0);
  const Result from_bundle = run_attune({"predict", "--bundle", dir + "/bundle", "--input", dir + "/probe-images"});
  REQUIRE(from_bundle.status == 0);
  CHECK(vit_prediction_gap(predict.out, from_bundle.out) < 1e-5);

  // Back to transformers: the fixture's tensors, bit for bit.
  const Result back = run_attune({"convert", "--run", dir + "/run", "--to-hf", dir + "/hf"});
  INFO(back.err);
  REQUIRE(back.status == 0);
  const auto original = attune::formats::load_safetensors(fixture + "/model.safetensors");
  const auto again = attune::formats::load_safetensors(dir + "/hf/model.safetensors");
  for (const auto& name : again.names) {
    INFO(name);
    REQUIRE(original.tensors.count(name) == 1);
    CHECK(torch::equal(original.tensors.at(name), again.tensors.at(name)));
  }

  // One normalisation per channel cannot be converted (attune's images are grey): fine-tuning can choose one.
  attune::testing::check_user_error(
      run_attune({"convert", "--from-hf", vit_fixture("hf-imgcls-c3"), "--out", dir + "/c3"}),
      "--from-hf: hf:" + vit_fixture("hf-imgcls-c3") + " normalises each channel differently");
  CHECK_FALSE(std::filesystem::exists(dir + "/c3/config.json"));
  // A ViTModel folder has no classifier to convert; an existing run directory is not overwritten.
  attune::testing::check_user_error(run_attune({"convert", "--from-hf", vit_fixture("hf-base-c1"), "--out", dir + "/base"}),
                                    vit_fixture("hf-base-c1") + ": has no classifier (a ViTModel folder)");
  attune::testing::check_user_error(run_attune({"convert", "--from-hf", fixture, "--out", dir + "/run"}),
                                    dir + "/run: output directory exists and is not empty");
}
