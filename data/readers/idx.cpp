#include "data/readers/idx.h"

#include "core/error.h"
#include "core/files.h"

#include <cstring>
#include <filesystem>

namespace attune::data {
namespace {

uint32_t big_endian(const std::string& bytes, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  if (!std::filesystem::exists(path)) fail(path, "no such file");
  return parse_idx(io::read_file(path), path);
}

torch::Tensor parse_idx(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) {
    fail(path, "not an IDX file (no 0x0000 magic number; gzip-compressed files must be unpacked first)");
  }
  const auto type = static_cast<unsigned char>(bytes[2]);
  const auto rank = static_cast<unsigned char>(bytes[3]);
  if (type != 0x08) fail(path, "IDX value type " + std::to_string(type) + " is not supported (only unsigned bytes, 0x08)");
  if (rank == 0) fail(path, "IDX rank 0");
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (bytes.size() < header) fail(path, "truncated IDX header");
  std::vector<int64_t> shape;
  size_t count = 1;
  for (size_t d = 0; d < rank; ++d) {
    shape.push_back(big_endian(bytes, 4 + 4 * d));
    // Four dimensions near 2^32 multiply past 2^64 and could wrap to the file's size.
    if (__builtin_mul_overflow(count, static_cast<size_t>(shape.back()), &count)) {
      fail(path, "the header's dimensions promise more values than any file holds");
    }
  }
  if (bytes.size() - header != count) {
    fail(path, "the header promises " + std::to_string(count) + " values, the file holds " +
                   std::to_string(bytes.size() - header));
  }
  torch::Tensor out = torch::empty(shape, torch::kUInt8);
  // An empty tensor (a zero dimension) has no data pointer to copy into.
  if (count > 0) std::memcpy(out.data_ptr<uint8_t>(), bytes.data() + header, count);
  return out;
}

ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path) {
  ImageSet set;
  set.images = read_idx(images_path);
  if (set.images.dim() != 3) fail(images_path, "expected images of rank 3 (N, H, W), got rank " + std::to_string(set.images.dim()));
  const torch::Tensor labels = read_idx(labels_path);
  if (labels.dim() != 1) fail(labels_path, "expected labels of rank 1, got rank " + std::to_string(labels.dim()));
  if (labels.size(0) != set.images.size(0)) {
    fail(labels_path, std::to_string(labels.size(0)) + " labels for " + std::to_string(set.images.size(0)) + " images in " +
                          images_path);
  }
  set.labels = labels.to(torch::kLong);
  return set;
}

}  // namespace attune::data
