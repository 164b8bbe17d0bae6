// Hugging Face ViT folders and timm ViT state dicts read into attune's ViT
// (models/vit/checkpoint.h): hand-made files under both naming schemes, the refusals,
// then the transformers/timm-made fixtures of tests/fixtures/vit
// (tools/parity/make_vit_fixtures.py) to 1e-5, outputs and (vit_fixture_gradients.py) gradients.
#include "core/files.h"
#include "models/vit/checkpoint.h"
#include "tests/catch.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"
#include "tests/common/vit_fixture.h"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace attune;
using models::VisionTransformer;
using models::VisionTransformerOptions;
using testing::write_hf_vit;
using testing::write_timm_vit;
using testing::write_json;

namespace {

VisionTransformerOptions tiny(int64_t channels, double eps) {
  return VisionTransformerOptions(8, 4, 3).channels(channels).hidden_size(8).num_heads(2).num_layers(2).mlp_size(12)
      .layer_norm_eps(eps);
}

// A random attune ViT with every tensor moved off its initial value.
VisionTransformer random_vit(const VisionTransformerOptions& o) {
  torch::manual_seed(5);
  VisionTransformer vit(o);
  torch::NoGradGuard no_grad;
  for (auto& p : vit->parameters()) p.add_(torch::randn_like(p) * 0.3);
  vit->eval();
  return vit;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

// The checkpoint's model, head included when it has one (else 3 fresh classes).
VisionTransformer model_of(const models::VitCheckpoint& ck) {
  VisionTransformerOptions o = ck.options;
  if (o.num_classes() == 0) o.num_classes(3);
  VisionTransformer vit(o);
  models::load_vit_checkpoint(*vit, ck, "test", true);
  vit->eval();
  return vit;
}

}  // namespace

TEST_CASE("an HF ViT folder and a timm state dict load into the same model exactly", "[vit][hf]") {
  VisionTransformer source = random_vit(tiny(3, 1e-12));
  const torch::Tensor images = torch::randn({2, 3, 8, 8});
  torch::NoGradGuard no_grad;
  const torch::Tensor expected = source->forward(images);

  const models::VitCheckpoint hf = models::read_hf_vit(write_hf_vit(source, "vit-hf"));
  CHECK(hf.options.layer_norm_eps() == 1e-12);
  CHECK(hf.options.channels() == 3);
  CHECK(hf.labels == std::vector<std::string>{"a", "b", "c"});
  CHECK(hf.image_mean == std::vector<double>{0.25, 0.25, 0.25});
  CHECK(hf.image_std == std::vector<double>{0.5, 0.5, 0.5});
  REQUIRE(hf.notes.size() == 1);
  CHECK(hf.notes[0].find("vit.pooler.dense.weight") != std::string::npos);
  CHECK(torch::equal(model_of(hf)->forward(images), expected));

  VisionTransformer eps6 = random_vit(tiny(3, 1e-6));
  const models::VitCheckpoint timm = models::read_timm_vit(write_timm_vit(eps6, "vit-timm") + "/model.safetensors");
  CHECK(timm.options.layer_norm_eps() == 1e-6);
  CHECK(timm.options.image_size() == 8);
  CHECK(timm.options.patch_size() == 4);
  CHECK(timm.options.mlp_size() == 12);
  CHECK(timm.options.num_layers() == 2);
  CHECK(timm.image_mean.empty());
  CHECK(torch::equal(model_of(timm)->forward(images), eps6->forward(images)));

  // Without the head: a fresh one stays as it was built.
  VisionTransformer fresh(VisionTransformerOptions(hf.options).num_classes(5));
  const torch::Tensor head = fresh->head->weight.clone();
  models::load_vit_checkpoint(*fresh, hf, "test", false);
  CHECK(torch::equal(fresh->head->weight, head));
  CHECK(torch::equal(fresh->cls_token, source->cls_token));
}

TEST_CASE("unsupported ViT checkpoints fail naming the file and key", "[vit][hf]") {
  VisionTransformer source = random_vit(tiny(1, 1e-12));
  const std::string dir = write_hf_vit(source, "vit-hf-bad");
  nlohmann::json config = io::read_json(dir + "/config.json");
  auto error_with = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json c = config;
    c[key] = value;
    write_json(dir + "/config.json", c);
    return testing::error_of([&] { models::read_hf_vit(dir); });
  };
  CHECK(error_with("hidden_act", "gelu_new") ==
        dir + "/config.json: hidden_act: attune's ViT uses exact GELU (\"gelu\"), got \"gelu_new\"");
  CHECK(error_with("model_type", "deit") == dir + "/config.json: model_type: expected \"vit\", got \"deit\"");
  CHECK(error_with("image_size", nlohmann::json::array({8, 16})).find(dir + "/config.json: image_size: ") == 0);
  CHECK(error_with("qkv_bias", "yes") == dir + "/config.json: qkv_bias: expected true or false, got \"yes\"");
  nlohmann::json missing = config;
  missing.erase("hidden_size");
  write_json(dir + "/config.json", missing);
  CHECK(testing::error_of([&] { models::read_hf_vit(dir); }) == dir + "/config.json: hidden_size: missing");
  // Sizes the tensors do not have: the file's own tensor name, both shapes.
  error_with("intermediate_size", 13);
  write_json(dir + "/preprocessor_config.json", {{"image_mean", 0.5}, {"image_std", 0.5}});
  const models::VitCheckpoint wrong = models::read_hf_vit(dir);
  VisionTransformer sized(VisionTransformerOptions(wrong.options).num_classes(3));
  CHECK(testing::error_of([&] { models::load_vit_checkpoint(*sized, wrong, "hf:" + dir, false); }) ==
        dir + "/model.safetensors: tensor 'vit.encoder.layer.0.intermediate.dense.weight' has shape [12, 8], the "
              "config implies [13, 8]");
  write_json(dir + "/preprocessor_config.json", {{"image_mean", {0.25, 0.25, 0.25}}, {"image_std", {0.5, 0.5, 0.5}}});
  write_json(dir + "/config.json", config);
  // 1 channel here, 3 means in the processor.
  CHECK(testing::error_of([&] { models::read_hf_vit(dir); }) ==
        dir + "/preprocessor_config.json: image_mean: expected 1 values (num_channels), got [0.25,0.25,0.25]");

  const std::string tdir = write_timm_vit(source, "vit-timm-bad");
  const std::string file = tdir + "/model.safetensors";
  auto tensors = formats::load_safetensors(file);
  formats::NamedTensors extra;
  for (const auto& n : tensors.names) extra.emplace_back(n, tensors.tensors.at(n));
  extra.emplace_back("blocks.0.ls1.gamma", torch::ones({8}));
  formats::save_safetensors(file, extra);
  CHECK(testing::error_of([&] { models::read_timm_vit(file); }).find(
            file + ": unsupported tensor 'blocks.0.ls1.gamma'") == 0);
  write_json(tdir + "/timm_args.json", {{"num_heads", 2}, {"global_pool", "avg"}});
  CHECK(testing::error_of([&] { models::read_timm_vit(file); }) ==
        tdir + "/timm_args.json: global_pool: only \"token\" (class token pooling) is supported, got \"avg\"");
  write_json(tdir + "/timm_args.json", {{"num_heads", 3}});
  CHECK(testing::error_of([&] { models::read_timm_vit(file); }) == file + ": num_heads 3 does not divide the width 8");
  fs::remove(tdir + "/timm_args.json");
  CHECK(testing::error_of([&] { models::read_timm_vit(file); }).find(file + ": no timm_args.json") == 0);
  // timm:DIR reads DIR/model.safetensors.
  CHECK(testing::error_of([&] { models::read_timm_vit(tdir); }).find(file + ": no timm_args.json") == 0);
  CHECK(testing::error_of([&] { models::read_vit_checkpoint("onnx:x", "init"); }).find("init: expected hf:DIR") == 0);
}

TEST_CASE("transformers' ViT and timm's VisionTransformer outputs to 1e-5", "[vit][fixtures]") {
  const std::string fixtures = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/vit";
  if (!fs::is_directory(fixtures)) {
    WARN("no " + fixtures + " (python3 tools/parity/make_vit_fixtures.py OUT_DIR on a machine with transformers "
         "and timm, then extract OUT_DIR/vit_fixtures.tar.gz there): skipped");
    return;
  }
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(fixtures)) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "expected.safetensors")) continue;
    const std::string dir = entry.path().string();
    CAPTURE(dir);
    ++cases;
    const bool timm = entry.path().filename().string().rfind("timm", 0) == 0;
    const models::VitCheckpoint ck =
        timm ? models::read_timm_vit(dir + "/model.safetensors") : models::read_hf_vit(dir);
    CHECK(ck.options.layer_norm_eps() == (timm ? 1e-6 : 1e-12));
    if (!timm) CHECK(ck.image_mean.size() == static_cast<size_t>(ck.options.channels()));
    const auto expected = formats::load_safetensors(dir + "/expected.safetensors").tensors;
    VisionTransformer vit = model_of(ck);
    torch::NoGradGuard no_grad;
    const torch::Tensor pixels = expected.at("pixel_values");
    CHECK(max_diff(vit->encode(pixels), expected.at("last_hidden_state")) < 1e-5);
    if (expected.count("logits")) CHECK(max_diff(vit->forward(pixels), expected.at("logits")) < 1e-5);
    if (expected.count("pooler_output")) {
      // ViTModel's pooler (dense + tanh on the class token) is left out with a note; its
      // tensors on attune's states give transformers' pooler_output.
      const auto raw = formats::load_safetensors(dir + "/model.safetensors").tensors;
      const torch::Tensor pooled =
          torch::tanh(torch::nn::functional::linear(vit->encode(pixels).select(1, 0), raw.at("pooler.dense.weight"),
                                                    raw.at("pooler.dense.bias")));
      CHECK(max_diff(pooled, expected.at("pooler_output")) < 1e-5);
    }
  }
  CHECK(cases == 5);
}

// tools/parity/vit_fixture_gradients.py wrote each fixture's gradients under the library's own
// parameter names (transformers 5.17's refactored ViT names, timm's fused qkv): read as a
// checkpoint, they land on attune's tensors as the weights do.
TEST_CASE("transformers' ViT and timm's VisionTransformer gradients to 1e-5, per parameter", "[vit][fixtures]") {
  const std::string fixtures = std::string(ATTUNE_SOURCE_DIR) + "/tests/fixtures/vit";
  if (!fs::is_directory(fixtures)) {
    WARN("no " + fixtures + ": skipped");
    return;
  }
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(fixtures)) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "gradients.safetensors")) continue;
    const std::string dir = entry.path().string(), name = entry.path().filename().string();
    CAPTURE(dir);
    ++cases;
    const bool timm = name.rfind("timm", 0) == 0;
    auto read = [&](const std::string& folder) {
      return timm ? models::read_timm_vit(folder + "/model.safetensors") : models::read_hf_vit(folder);
    };
    const std::string copy = testing::temp_dir("vit-gradients-" + name);
    for (const auto& file : fs::directory_iterator(dir)) {
      fs::copy_file(file.path(), copy + "/" + file.path().filename().string(), fs::copy_options::overwrite_existing);
    }
    fs::copy_file(dir + "/gradients.safetensors", copy + "/model.safetensors", fs::copy_options::overwrite_existing);
    const models::VitCheckpoint gradients = read(copy);

    VisionTransformer vit = model_of(read(dir));
    const auto expected = formats::load_safetensors(dir + "/expected.safetensors").tensors;
    const torch::Tensor pixels = expected.at("pixel_values");
    torch::Tensor loss = (vit->encode(pixels) * expected.at("probe")).sum();
    if (expected.count("logits")) loss = loss + torch::nn::functional::cross_entropy(vit->forward(pixels), expected.at("labels"));
    loss.backward();
    size_t compared = 0;
    for (const auto& p : vit->named_parameters()) {
      CAPTURE(p.key());
      if (!expected.count("logits") && p.key().rfind("head.", 0) == 0) continue;  // model_of's head for a ViTModel
      REQUIRE(gradients.tensors.tensors.count(p.key()) == 1);
      const torch::Tensor& want = gradients.tensors.tensors.at(p.key());
      CHECK(max_diff(p.value().grad(), want) < 1e-5 * std::max(1.0, want.abs().max().item<double>()));
      ++compared;
    }
    CHECK(compared == gradients.tensors.names.size());
  }
  CHECK(cases == 5);
}
