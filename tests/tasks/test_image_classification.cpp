// Image classification: augmentation, the ViT's shapes, and a run end to end on
// generated images whose class is the bright quadrant.
#include "tests/catch.h"
#include "tasks/registry.h"

#include "models/vit/vit.h"
#include "core/config.h"
#include "data/formats/png.h"
#include "data/readers/idx.h"
#include "tasks/image_classification/augment.h"
#include "tasks/image_classification/explain.h"
#include "tasks/image_classification/task.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <png.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

using attune::testing::error_of;
using nlohmann::json;

namespace {

std::string idx_file(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string b = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>((d >> shift) & 0xFF);
  b.append(values.begin(), values.end());
  std::ofstream(path, std::ios::binary) << b;
  return path;
}

// n images of size x size; class c in 0..3 lights quadrant c, on noise.
void write_quadrants(const std::string& dir, const std::string& name, int n, int size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> pixels, labels;
  const int half = size / 2;
  for (int i = 0; i < n; ++i) {
    const int c = static_cast<int>(rng() % 4);
    labels.push_back(static_cast<uint8_t>(c));
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const bool lit = (y < half) == (c < 2) && (x < half) == (c % 2 == 0);
        pixels.push_back(static_cast<uint8_t>((lit ? 160 : 0) + rng() % 60));
      }
  }
  idx_file(dir + "/" + name + "-images", {static_cast<uint32_t>(n), static_cast<uint32_t>(size), static_cast<uint32_t>(size)},
           pixels);
  idx_file(dir + "/" + name + "-labels", {static_cast<uint32_t>(n)}, labels);
}

}  // namespace

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
  CHECK(error_of([&] { attune::image_classification::explain_images(dir + "/run", images, indices, 2, "cpu"); }) ==
        "--layer: 2 is outside the model's 2 layers");
  CHECK(error_of([&] { attune::image_classification::parse_image_input("x.idx:1,b"); }) ==
        "--input: expected FILE, FILE:INDEX or FILE:I,J,...; 'b' is not an image index");
}
