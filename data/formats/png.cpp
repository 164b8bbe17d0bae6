#include "data/formats/png.h"

#include "core/error.h"
#include "core/files.h"

#include <array>
#include <cstdint>

namespace attune::formats {
namespace {

uint32_t crc32(const std::string& bytes, size_t from) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = from; i < bytes.size(); ++i) c = table[(c ^ static_cast<uint8_t>(bytes[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out += type;
  out += data;
  put_be32(out, crc32(out, start));
}

// zlib stream of stored deflate blocks (at most 65535 bytes each) with its Adler-32.
std::string zlib_stored(const std::string& raw) {
  std::string out = {'\x78', '\x01'};
  size_t at = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    const bool last = at + n == raw.size();
    out.push_back(last ? '\x01' : '\x00');
    out.push_back(static_cast<char>(n & 0xFF));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(~n & 0xFF));
    out.push_back(static_cast<char>((~n >> 8) & 0xFF));
    out.append(raw, at, n);
    at += n;
  } while (at < raw.size());
  uint32_t a = 1, b = 0;
  for (unsigned char ch : raw) {
    a = (a + ch) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(out, (b << 16) | a);
  return out;
}

}  // namespace

std::string encode_png(const torch::Tensor& rgb) {
  TORCH_CHECK(rgb.dim() == 3 && rgb.size(2) == 3 && rgb.scalar_type() == torch::kByte,
              "encode_png: expected uint8 (H, W, 3), got ", rgb.sizes(), " ", rgb.scalar_type());
  const int64_t h = rgb.size(0), w = rgb.size(1);
  TORCH_CHECK(h > 0 && w > 0, "encode_png: empty image");
  const torch::Tensor pixels = rgb.contiguous().cpu();
  const auto* p = pixels.data_ptr<uint8_t>();
  std::string raw;
  raw.reserve(static_cast<size_t>(h * (1 + 3 * w)));
  for (int64_t y = 0; y < h; ++y) {
    raw.push_back('\0');  // filter type 0: the row as it is
    raw.append(reinterpret_cast<const char*>(p + y * 3 * w), static_cast<size_t>(3 * w));
  }
  std::string header;
  put_be32(header, static_cast<uint32_t>(w));
  put_be32(header, static_cast<uint32_t>(h));
  header += std::string{'\x08', '\x02', '\x00', '\x00', '\x00'};  // 8-bit RGB, deflate, no filter set, no interlace
  std::string out = "\x89PNG\r\n\x1a\n";
  put_chunk(out, "IHDR", header);
  put_chunk(out, "IDAT", zlib_stored(raw));
  put_chunk(out, "IEND", "");
  return out;
}

void write_png(const std::string& path, const torch::Tensor& rgb) { io::write_file_atomic(path, encode_png(rgb)); }

}  // namespace attune::formats
