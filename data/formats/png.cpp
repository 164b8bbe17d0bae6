#include "data/formats/png.h"

#include "core/error.h"
#include "core/files.h"

#include <png.h>

#include <cstdint>

namespace attune::formats {

std::string encode_png(const torch::Tensor& rgb) {
  TORCH_CHECK(rgb.dim() == 3 && (rgb.size(2) == 3 || rgb.size(2) == 1) && rgb.scalar_type() == torch::kByte,
              "encode_png: expected uint8 (H, W, 3) or (H, W, 1), got ", rgb.sizes(), " ", rgb.scalar_type());
  const int64_t h = rgb.size(0), w = rgb.size(1);
  TORCH_CHECK(h > 0 && w > 0, "encode_png: empty image");
  TORCH_CHECK(h <= PNG_UINT_31_MAX && w <= PNG_UINT_31_MAX, "encode_png: image too large");
  const torch::Tensor pixels = rgb.contiguous().cpu();
  // libpng's simplified API: no setjmp error handling, errors come back in image.message.
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(w);
  image.height = static_cast<png_uint_32>(h);
  image.format = rgb.size(2) == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
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

torch::Tensor decode_png(const std::string& bytes, const std::string& where) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    fail(where, std::string("not a PNG image (libpng: ") + image.message + ")");
  }
  // Frees libpng's reader on every way out; finish_read frees it too, and a second free is a no-op.
  struct Free {
    png_image* image;
    ~Free() { png_image_free(image); }
  } free_on_exit{&image};
  // 16-bit samples would come back gamma-encoded to 8 bits: other values than the file's.
  if (image.format & PNG_FORMAT_FLAG_LINEAR) fail(where, "16-bit PNG; expected 8 bits per sample");
  const int64_t h = image.height, w = image.width;
  if (h * w > (int64_t{1} << 26)) {
    fail(where, "PNG of " + std::to_string(w) + "x" + std::to_string(h) + " pixels is too large");
  }
  image.format &= ~static_cast<png_uint_32>(PNG_FORMAT_FLAG_COLORMAP);
  const int64_t channels = PNG_IMAGE_SAMPLE_CHANNELS(image.format);
  torch::Tensor pixels = torch::empty({h, w, channels}, torch::kByte);
  if (!png_image_finish_read(&image, nullptr, pixels.data_ptr<uint8_t>(), 0, nullptr)) {
    fail(where, std::string("bad PNG image (libpng: ") + image.message + ")");
  }
  return pixels;
}

void write_png(const std::string& path, const torch::Tensor& rgb) { io::write_file_atomic(path, encode_png(rgb)); }

}  // namespace attune::formats
