#include "data/formats/protobuf_reader.h"

#include "core/error.h"

#include <cstring>

namespace attune::formats {

uint64_t get_fixed(const std::string& bytes, size_t at, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

std::pair<uint32_t, int> ProtoReader::key() {
  const uint64_t k = varint();
  return {static_cast<uint32_t>(k >> 3), static_cast<int>(k & 7)};
}

uint64_t ProtoReader::varint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    need(1);
    const uint8_t b = static_cast<uint8_t>(bytes_[at_++]);
    value |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return value;
  }
  fail(where_, "malformed protobuf varint");
}

uint64_t ProtoReader::fixed(int size) {
  need(size);
  const uint64_t value = get_fixed(bytes_, at_, size);
  at_ += size;
  return value;
}

float ProtoReader::fixed32_float() {
  const auto bits = static_cast<uint32_t>(fixed(4));
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

std::string ProtoReader::bytes() {
  const uint64_t size = varint();
  need(size);
  std::string out = bytes_.substr(at_, size);
  at_ += size;
  return out;
}

void ProtoReader::skip(int wire_type) {
  switch (wire_type) {
    case 0: varint(); return;
    case 1: fixed(8); return;
    case 2: bytes(); return;
    case 5: fixed(4); return;
    default: fail(where_, "unsupported protobuf wire type " + std::to_string(wire_type));
  }
}

void ProtoReader::need(uint64_t size) const {
  if (size > bytes_.size() - at_) fail(where_, "truncated protobuf message");
}

}  // namespace attune::formats
