// Image classification: augmentation, the ViT's shapes, and a run end to end on
// generated images whose class is the bright quadrant.
#include "tests/catch.h"
#include "tasks/registry.h"

#include "models/vit/vit.h"
#include "core/config.h"
#include "data/formats/base64.h"
#include "data/formats/png.h"
#include "data/readers/idx.h"
#include "tasks/image_classification/augment.h"
#include "tasks/image_classification/explain.h"
#include "tasks/image_classification/export.h"
#include "tasks/image_classification/task.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <png.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using attune::testing::error_of;
using nlohmann::json;

using attune::testing::write_quadrants;

TEST_CASE("augmentation: padding 0 and no flip is the identity; crops keep a centred blob; flips mirror", "[image]") {
  std::mt19937_64 rng(1);
  const torch::Tensor images = torch::rand({5, 1, 8, 8});
  CHECK(attune::image_classification::augment(images, 0, false, rng).equal(images));
  torch::Tensor blob = torch::zeros({6, 1, 8, 8});
  blob.narrow(2, 3, 2).narrow(3, 3, 2).fill_(1.0);
  const torch::Tensor cropped = attune::image_classification::augment(blob, 2, false, rng);
  CHECK(cropped.sizes() == blob.sizes());
  CHECK(cropped.sum({1, 2, 3}).equal(torch::full({6}, 4.0)));
  torch::Tensor left = torch::zeros({16, 1, 4, 4});
  left.select(3, 0).fill_(1.0);
  const torch::Tensor flipped = attune::image_classification::augment(left, 0, true, rng);
  int mirrored = 0;
  for (int i = 0; i < 16; ++i) {
    const bool same = flipped[i].equal(left[i]), mirror = flipped[i].equal(left[i].flip({2}));
    CHECK((same || mirror));
    mirrored += mirror;
  }
  CHECK(mirrored > 0);
  CHECK(mirrored < 16);
}

TEST_CASE("ViT: logits and per-layer attention shapes; wrong image sizes are refused", "[image]") {
  attune::models::VisionTransformer vit(attune::models::VisionTransformerOptions(8, 4, 3).hidden_size(16).num_layers(2)
                                            .num_heads(2).mlp_size(32));
  std::vector<torch::Tensor> weights;
  const torch::Tensor logits = vit->forward(torch::randn({2, 1, 8, 8}), &weights);
  CHECK(logits.sizes() == torch::IntArrayRef({2, 3}));
  REQUIRE(weights.size() == 2);
  CHECK(weights[0].sizes() == torch::IntArrayRef({2, 2, 5, 5}));
  CHECK(torch::allclose(weights[1].sum(-1), torch::ones({2, 2, 5})));
  CHECK_THROWS(vit->forward(torch::randn({2, 1, 12, 12})));
}

TEST_CASE("a ViT learns the bright quadrant; eval and predict read IDX files", "[image]") {
  const std::string dir = attune::testing::temp_dir("image-run");
  write_quadrants(dir, "train", 700, 8, 1);
  write_quadrants(dir, "test", 100, 8, 2);
  write_quadrants(dir, "wide", 4, 12, 3);
  json config = attune::image_classification::default_config();
  attune::config::apply_overrides(config, {"data.train_images=" + dir + "/train-images",
                                           "data.train_labels=" + dir + "/train-labels",
                                           "data.test_images=" + dir + "/test-images",
                                           "data.test_labels=" + dir + "/test-labels", "data.valid_size=100",
                                           "data.labels=[\"tl\", \"tr\", \"bl\", \"br\"]", "augment.crop_padding=0",
                                           "augment.horizontal_flip=false", "model.patch_size=4", "model.hidden_size=32",
                                           "model.num_layers=2", "model.num_heads=2", "model.mlp_size=64",
                                           "train.epochs=10", "train.batch_size=32", "train.lr=3e-3", "device=cpu",
                                           "run_dir=" + dir + "/run"});
  attune::engine::TrainFlags flags;
  std::ostringstream log;
  flags.log = &log;
  const json summary = attune::tasks::train(config, flags);
  INFO(summary.dump());
  CHECK(summary["test"]["accuracy"].get<double>() > 0.9);
  const json again = attune::image_classification::evaluate_run(dir + "/run", dir + "/test-images," + dir + "/test-labels",
                                                                {}, "cpu");
  CHECK(again["accuracy"] == summary["test"]["accuracy"]);
  std::ifstream images(dir + "/test-images", std::ios::binary);
  std::ostringstream out;
  attune::image_classification::predict_run(dir + "/run", images, "test-images", out, "cpu", 16);
  std::istringstream lines(out.str());
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    const json row = json::parse(line);
    CHECK(row["probabilities"].size() == 4);
    ++rows;
  }
  CHECK(rows == 100);
  CHECK(error_of([&] {
          attune::image_classification::evaluate_run(dir + "/run", dir + "/wide-images," + dir + "/wide-labels", {}, "cpu");
        }) == dir + "/wide-images," + dir + "/wide-labels: images are 12x12, the run was trained on 8x8");
  CHECK(error_of([&] { attune::image_classification::evaluate_run(dir + "/run", dir + "/test-images", {}, "cpu"); }) ==
        "--data: expected IMAGES,LABELS (two IDX files), got '" + dir + "/test-images'");
}

namespace {

// The pixels of a PNG file, decoded by libpng's reader (8-bit RGB), with its size.
std::vector<uint8_t> decode_png(const std::string& bytes, uint32_t& width, uint32_t& height) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()));
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  REQUIRE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr));
  width = image.width;
  height = image.height;
  return pixels;
}

std::string hex_of(const std::string& bytes) {
  std::string hex;
  for (unsigned char c : bytes) {
    const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

}  // namespace

TEST_CASE("PNG files have the known signature, header and end chunks and decode to their pixels", "[image][png]") {
  // 2x2 RGB: red, blue / two greys. Signature, IHDR (8-bit RGB, CRC fdd49a73) and IEND
  // bytes from Python's zlib and struct; the compressed IDAT between them is libpng's choice.
  const torch::Tensor rgb = torch::tensor({255, 0, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60}, torch::kByte).view({2, 2, 3});
  const std::string png = attune::formats::encode_png(rgb);
  CHECK(hex_of(png.substr(0, 33)) == "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73");
  CHECK(hex_of(png.substr(png.size() - 12)) == "0000000049454e44ae426082");
  uint32_t w = 0, h = 0;
  const std::vector<uint8_t> pixels = decode_png(png, w, h);
  CHECK(w == 2);
  CHECK(h == 2);
  CHECK(pixels == std::vector<uint8_t>{255, 0, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60});
  // 200 x 200 random pixels: several deflate blocks, decoded back exactly.
  const torch::Tensor big = torch::randint(0, 256, {200, 300, 3}).to(torch::kByte);
  const std::vector<uint8_t> decoded = decode_png(attune::formats::encode_png(big), w, h);
  CHECK(w == 300);
  CHECK(h == 200);
  CHECK(std::equal(decoded.begin(), decoded.end(), big.data_ptr<uint8_t>()));
  CHECK(decoded.size() == static_cast<size_t>(big.numel()));
  CHECK(attune::testing::exception_of([&] { attune::formats::encode_png(torch::zeros({2, 2})); }).find("expected uint8 (H, W, 3)") != std::string::npos);
}

TEST_CASE("explain reads the patch grid of a ViT run and draws each image over its heat map", "[image][explain]") {
  const std::string dir = attune::testing::temp_dir("image-explain");
  write_quadrants(dir, "train", 300, 8, 4);
  json config = attune::image_classification::default_config();
  attune::config::apply_overrides(config, {"data.train_images=" + dir + "/train-images",
                                           "data.train_labels=" + dir + "/train-labels", "data.valid_size=50",
                                           "augment.crop_padding=0", "augment.horizontal_flip=false", "model.patch_size=2",
                                           "model.hidden_size=16", "model.num_layers=2", "model.num_heads=2",
                                           "model.mlp_size=32", "model.pooling=mean", "model.layer_fusion=true",
                                           "model.attention_mask={\"any\": [{\"grid\": {\"side\": 4, \"radius\": 1, \"offset\": 1}}, {\"global\": [0]}]}",
                                           "train.epochs=1", "train.batch_size=32", "device=cpu", "run_dir=" + dir + "/run"});
  attune::engine::TrainFlags flags;
  std::ostringstream log;
  flags.log = &log;
  attune::tasks::train(config, flags);
  const json saved = json::parse(std::ifstream(dir + "/run/config.json"));
  CHECK(saved["model"]["layer_fusion"] == true);
  const auto [file, indices] = attune::image_classification::parse_image_input(dir + "/train-images:0,5");
  CHECK(indices == std::vector<int64_t>{0, 5});
  const torch::Tensor all = attune::data::read_idx(file);
  const torch::Tensor images = all.index_select(0, torch::tensor(indices));
  const json e = attune::image_classification::explain_images(dir + "/run", images, indices, 0, "cpu");
  CHECK(e["grid"] == 4);
  REQUIRE(e["images"].size() == 2);
  CHECK(e["images"][1]["index"] == 5);
  CHECK(e["images"][0]["heads"].size() == 2);
  CHECK(e["images"][0]["importance"].size() == 4);
  double total = 0.0;
  for (const auto& row : e["images"][0]["importance"])
    for (double v : row) total += v;
  CHECK(total > 0.0);
  CHECK(total <= 1.0 + 1e-6);  // a share of one rollout row
  const torch::Tensor png = attune::image_classification::explanation_overlay(images, e, 3);
  CHECK(png.sizes() == std::vector<int64_t>{48, 48, 3});
  // The top half is the image itself, grey: equal channels.
  CHECK(png.narrow(0, 0, 24).select(2, 0).equal(png.narrow(0, 0, 24).select(2, 2)));
  // C++17 lambdas cannot capture a structured binding (clang refuses it): a copy.
  const std::vector<int64_t> picked = indices;
  CHECK(error_of([&] { attune::image_classification::explain_images(dir + "/run", images, picked, 2, "cpu"); }) ==
        "--layer: 2 is outside the model's 2 layers");
  CHECK(error_of([&] { attune::image_classification::parse_image_input("x.idx:1,b"); }) ==
        "--input: expected FILE, FILE:INDEX or FILE:I,J,...; 'b' is not an image index");
}

namespace {

// A tiny ViT run on 8x8 quadrant images, trained for one epoch: what export needs, not accuracy.
std::string train_tiny_vit(const std::string& dir, const std::string& name, const std::vector<std::string>& extra) {
  if (!std::filesystem::exists(dir + "/train-images")) write_quadrants(dir, "train", 240, 8, 7);
  json config = attune::image_classification::default_config();
  std::vector<std::string> overrides = {"data.train_images=" + dir + "/train-images",
                                        "data.train_labels=" + dir + "/train-labels", "data.valid_size=40",
                                        "data.labels=[\"tl\", \"tr\", \"bl\", \"br\"]", "augment.crop_padding=0",
                                        "augment.horizontal_flip=false", "model.patch_size=2", "model.hidden_size=16",
                                        "model.num_layers=2", "model.num_heads=2", "model.mlp_size=32",
                                        "train.epochs=1", "train.batch_size=32", "train.lr=3e-3", "device=cpu",
                                        "run_dir=" + dir + "/" + name};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  attune::config::apply_overrides(config, overrides);
  attune::engine::TrainFlags flags;
  std::ostringstream log;
  flags.log = &log;
  attune::tasks::train(config, flags);
  return dir + "/" + name;
}

std::vector<json> json_rows(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

// Same labels; returns the largest probability difference.
double largest_difference(const std::vector<json>& a, const std::vector<json>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i]["label"] == b[i]["label"]);
    for (const auto& item : a[i]["probabilities"].items()) {
      worst = std::max(worst, std::abs(item.value().get<double>() - b[i]["probabilities"].at(item.key()).get<double>()));
    }
  }
  return worst;
}

std::string predict_run_text(const std::string& run, const std::string& images, int64_t batch_size) {
  std::ifstream in(images, std::ios::binary);
  std::ostringstream out;
  attune::image_classification::predict_run(run, in, images, out, "cpu", batch_size);
  return out.str();
}

std::string predict_bundle_text(const std::string& bundle, const std::string& images, int64_t batch_size) {
  std::ifstream in(images, std::ios::binary);
  std::ostringstream out;
  attune::image_classification::predict_bundle(bundle, in, images, out, "cpu", batch_size);
  return out.str();
}

// Image i of an IDX images file (N, S, S) as a JSON list of rows.
json pixel_rows(const torch::Tensor& images, int64_t i) {
  json rows = json::array();
  for (int64_t y = 0; y < images.size(1); ++y) {
    json row = json::array();
    for (int64_t x = 0; x < images.size(2); ++x) row.push_back(images[i][y][x].item<int64_t>());
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("image bundles predict as their runs for every pooling and attention switch", "[image][export]") {
  const std::string dir = attune::testing::temp_dir("image-export");
  write_quadrants(dir, "test", 23, 8, 8);
  const std::vector<std::pair<std::string, std::vector<std::string>>> variants = {
      {"cls", {}},
      {"mean-fusion-mask-relative",
       {"model.pooling=mean", "model.layer_fusion=true", "model.position_bias=relative",
        "model.attention_mask={\"any\": [{\"grid\": {\"side\": 4, \"radius\": 1, \"offset\": 1}}, {\"global\": [0]}]}"}},
      {"attention-alibi", {"model.pooling=attention", "model.pooling_temperature=0.5", "model.position_bias=alibi"}},
  };
  for (const auto& [name, extra] : variants) {
    CAPTURE(name);
    const std::string run = train_tiny_vit(dir, name, extra);
    const std::string bundle = dir + "/bundles/" + name;
    const json summary = attune::image_classification::export_run(run, bundle, false);
    CHECK(summary["check_max_abs_diff"].get<double>() < 1e-6);
    const json manifest = attune::io::read_json(bundle + "/manifest.json");
    CHECK(manifest["task"] == "image-classification");
    CHECK(manifest["labels"] == json({"tl", "tr", "bl", "br"}));
    CHECK(manifest["image"] == json({{"size", 8}, {"channels", 1}, {"layout", "NCHW"}}));
    CHECK(manifest["inputs"][0]["shape"] == json({"batch", 1, 8, 8}));
    CHECK_FALSE(std::filesystem::exists(bundle + "/tokenizer"));
    // The bundle alone, at batch sizes the export never saw.
    const std::vector<json> from_run = json_rows(predict_run_text(run, dir + "/test-images", 7));
    CHECK(from_run.size() == 23);
    CHECK(largest_difference(from_run, json_rows(predict_bundle_text(bundle, dir + "/test-images", 7))) < 1e-5);
    CHECK(largest_difference(from_run, json_rows(predict_bundle_text(bundle, dir + "/test-images", 64))) < 1e-5);
  }
}

TEST_CASE("an image bundle serves pixel lists and PNGs as predict, and refuses bad inputs naming them",
          "[image][export][serve]") {
  const std::string dir = attune::testing::temp_dir("image-serve");
  write_quadrants(dir, "test", 6, 8, 9);
  const std::string run = train_tiny_vit(dir, "run", {});
  const std::string bundle = dir + "/bundle";
  attune::image_classification::export_run(run, bundle, false);
  const std::vector<json> expected = json_rows(predict_bundle_text(bundle, dir + "/test-images", 64));
  const torch::Tensor images = attune::data::read_idx(dir + "/test-images");

  const attune::serving::Predictor p = attune::image_classification::bundle_predictor(bundle, "cpu", 4);
  CHECK(p.task == "image-classification");
  CHECK(p.info["image_size"] == 8);
  json inputs = json::array();
  for (int64_t i = 0; i < 4; ++i) inputs.push_back(pixel_rows(images, i));
  inputs.push_back(json::array({pixel_rows(images, 4)}));  // (1, 8, 8)
  const std::string png = attune::formats::encode_png(images[5].unsqueeze(-1).contiguous());
  inputs.push_back({{"png", attune::formats::encode_base64(png)}});
  for (size_t i = 0; i < inputs.size(); ++i) p.check(inputs[i], "inputs[" + std::to_string(i) + "]");
  const std::vector<json> served = p.run(inputs.get<std::vector<json>>());
  CHECK(largest_difference(expected, served) < 1e-5);

  auto error = [&](const json& input) { return error_of([&] { p.check(input, "inputs[1]"); }); };
  json short_image = pixel_rows(images, 0);
  short_image.erase(short_image.size() - 1);
  CHECK(error(short_image) == "inputs[1]: expected 8 rows, got 7");
  json word = pixel_rows(images, 0);
  word[2][3] = "x";
  CHECK(error(word) == "inputs[1][2][3]: expected a pixel value in 0..255, got \"x\"");
  json bright = pixel_rows(images, 0);
  bright[0][0] = 256;
  CHECK(error(bright) == "inputs[1][0][0]: expected a pixel value in 0..255, got 256");
  CHECK(error(json::array({pixel_rows(images, 0), pixel_rows(images, 1)})) == "inputs[1]: expected 1 channel planes, got 2");
  CHECK(error("an image") ==
        "inputs[1]: expected an image: a 8x8 list of pixel rows (0..255) or {\"png\": \"<base64>\"}, got string");
  CHECK(error({{"pixels", 1}}) == "inputs[1]: expected {\"png\": \"<base64>\"} as the only key of an image object");
  CHECK(error({{"png", "iVBO*w0K"}}) == "inputs[1]: invalid base64: unexpected character at offset 4");
  CHECK(error({{"png", "abc"}}) == "inputs[1]: invalid base64: length 3 is not a multiple of 4");
  CHECK(error({{"png", attune::formats::encode_base64("not a png at all")}}).rfind("inputs[1]: not a PNG image (libpng: ", 0) == 0);
  const torch::Tensor rgb = images[0].unsqueeze(-1).expand({8, 8, 3}).contiguous();
  CHECK(error({{"png", attune::formats::encode_base64(attune::formats::encode_png(rgb))}}) ==
        "inputs[1]: the PNG has 3 channels, the model takes 1 (8-bit grey)");
  const torch::Tensor wide = torch::zeros({8, 12, 1}, torch::kByte);
  CHECK(error({{"png", attune::formats::encode_base64(attune::formats::encode_png(wide))}}) ==
        "inputs[1]: the PNG is 12x8, the model takes 8x8");

  // A bundle of another task is refused, and so is an IDX file of another image size.
  std::filesystem::copy(bundle, dir + "/other", std::filesystem::copy_options::recursive);
  json manifest = attune::io::read_json(dir + "/other/manifest.json");
  manifest["task"] = "text-classification";
  attune::io::write_json_atomic(dir + "/other/manifest.json", manifest);
  CHECK(error_of([&] { predict_bundle_text(dir + "/other", dir + "/test-images", 4); }) ==
        dir + "/other/manifest.json: task \"text-classification\" is not image-classification");
  write_quadrants(dir, "wide", 2, 12, 3);
  CHECK(error_of([&] { predict_bundle_text(bundle, dir + "/wide-images", 4); }) ==
        dir + "/wide-images: images are 12x12, the run was trained on 8x8");
}

TEST_CASE("an int8 image bundle predicts close to the float32 one", "[image][export]") {
  const std::string dir = attune::testing::temp_dir("image-int8");
  write_quadrants(dir, "test", 20, 8, 10);
  const std::string run = train_tiny_vit(dir, "run", {});
  attune::image_classification::export_run(run, dir + "/fp32", false);
  const json summary = attune::image_classification::export_run(run, dir + "/int8", false, /*int8=*/true);
  CHECK(summary["dtype"] == "int8-dynamic");
  CHECK(attune::io::read_json(dir + "/int8/manifest.json")["model"].contains("quantized_engine"));
  const double worst = largest_difference(json_rows(predict_bundle_text(dir + "/fp32", dir + "/test-images", 8)),
                                          json_rows(predict_bundle_text(dir + "/int8", dir + "/test-images", 8)));
  CHECK(worst < 0.05);
  CHECK(worst > 0.0);  // really a quantized computation
}

TEST_CASE("base64 round-trips every length and refuses what is not base64; grey PNGs decode to their pixels",
          "[image][png]") {
  std::string bytes;
  for (int n = 0; n < 9; ++n) {
    CHECK(attune::formats::decode_base64(attune::formats::encode_base64(bytes), "x") == bytes);
    bytes += static_cast<char>(250 - 37 * n);
  }
  CHECK(attune::formats::encode_base64("any carnal pleas") == "YW55IGNhcm5hbCBwbGVhcw==");
  CHECK(error_of([] { attune::formats::decode_base64("ab=c", "b"); }) == "b: invalid base64: unexpected character at offset 2");
  CHECK(error_of([] { attune::formats::decode_base64("a===", "b"); }) == "b: invalid base64: unexpected character at offset 1");
  CHECK(error_of([] { attune::formats::decode_base64("YW55 IGNh", "b"); }) ==
        "b: invalid base64: length 9 is not a multiple of 4");
  const torch::Tensor grey = torch::randint(0, 256, {5, 7, 1}).to(torch::kByte);
  CHECK(attune::formats::decode_png(attune::formats::encode_png(grey), "g").equal(grey));
  const torch::Tensor rgb = torch::randint(0, 256, {3, 4, 3}).to(torch::kByte);
  CHECK(attune::formats::decode_png(attune::formats::encode_png(rgb), "c").equal(rgb));
  CHECK(error_of([] { attune::formats::decode_png("", "e"); }).rfind("e: not a PNG image (libpng: ", 0) == 0);
  std::string cut = attune::formats::encode_png(rgb);
  cut.resize(cut.size() - 20);
  CHECK(error_of([&] { attune::formats::decode_png(cut, "cut"); }).rfind("cut: ", 0) == 0);
}
