#include "data/formats/png.h"

#include "core/files.h"

#include <png.h>

#include <cstdint>

namespace attune::formats {

std::string encode_png(const torch::Tensor& rgb) {
  TORCH_CHECK(rgb.dim() == 3 && rgb.size(2) == 3 && rgb.scalar_type() == torch::kByte,
              "encode_png: expected uint8 (H, W, 3), got ", rgb.sizes(), " ", rgb.scalar_type());
  const int64_t h = rgb.size(0), w = rgb.size(1);
  TORCH_CHECK(h > 0 && w > 0, "encode_png: empty image");
  TORCH_CHECK(h <= PNG_UINT_31_MAX && w <= PNG_UINT_31_MAX, "encode_png: image too large");
  const torch::Tensor pixels = rgb.contiguous().cpu();
  // libpng's simplified API: no setjmp error handling, errors come back in image.message.
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(w);
  image.height = static_cast<png_uint_32>(h);
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  const void* data = pixels.data_ptr<uint8_t>();
  // The first call measures, the second writes.
  TORCH_CHECK(png_image_write_to_memory(&image, nullptr, &size, 0, data, 0, nullptr) && size > 0,
              "encode_png: libpng: ", image.message);
  std::string out(size, '\0');
  TORCH_CHECK(png_image_write_to_memory(&image, out.data(), &size, 0, data, 0, nullptr),
              "encode_png: libpng: ", image.message);
  out.resize(size);
  return out;
}

void write_png(const std::string& path, const torch::Tensor& rgb) { io::write_file_atomic(path, encode_png(rgb)); }

}  // namespace attune::formats
