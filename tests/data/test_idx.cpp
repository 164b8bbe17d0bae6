// The IDX reader on small files written here, and its errors.
#include "tests/catch.h"

#include "data/readers/idx.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <fstream>

using attune::testing::error_of;

namespace {

std::string idx_bytes(unsigned char type, const std::vector<uint32_t>& dims, const std::vector<unsigned char>& values) {
  std::string b = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>((d >> shift) & 0xFF);
  b.append(values.begin(), values.end());
  return b;
}

std::string write_idx(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST_CASE("IDX images and labels read back; bad files fail naming the file", "[idx]") {
  const std::string dir = attune::testing::temp_dir("idx");
  std::vector<unsigned char> pixels;
  for (int i = 0; i < 2 * 3 * 2; ++i) pixels.push_back(static_cast<unsigned char>(i * 20));
  const std::string images = write_idx(dir + "/images", idx_bytes(8, {2, 3, 2}, pixels));
  const std::string labels = write_idx(dir + "/labels", idx_bytes(8, {2}, {7, 1}));
  const attune::data::ImageSet set = attune::data::read_idx_images(images, labels);
  CHECK(set.images.sizes() == torch::IntArrayRef({2, 3, 2}));
  CHECK(set.images[1][2][1].item<uint8_t>() == 220);
  CHECK(set.labels.equal(torch::tensor({7, 1}).to(torch::kLong)));

  CHECK(error_of([&] { attune::data::read_idx(write_idx(dir + "/gz", "\x1f\x8b\x08\x00")); }) ==
        dir + "/gz: not an IDX file (no 0x0000 magic number; gzip-compressed files must be unpacked first)");
  CHECK(error_of([&] { attune::data::read_idx(write_idx(dir + "/short", idx_bytes(8, {2, 3, 2}, {1, 2, 3}))); }) ==
        dir + "/short: the header promises 12 values, the file holds 3");
  CHECK(error_of([&] { attune::data::read_idx(write_idx(dir + "/float", idx_bytes(0x0D, {1}, {0, 0, 0, 0}))); }) ==
        dir + "/float: IDX value type 13 is not supported (only unsigned bytes, 0x08)");
  const std::string three = write_idx(dir + "/three", idx_bytes(8, {3}, {1, 2, 3}));
  CHECK(error_of([&] { attune::data::read_idx_images(images, three); }) ==
        three + ": 3 labels for 2 images in " + images);
  CHECK(error_of([&] { attune::data::read_idx_images(labels, labels); }) ==
        labels + ": expected images of rank 3 (N, H, W), got rank 1");
}
