#include "data/text/spm_model_proto.h"

#include "core/error.h"
#include "core/files.h"

#include <cstring>

namespace attune::text {
namespace {

// One message's bytes, read field by field (protobuf wire format).
class WireReader {
 public:
  WireReader(const std::string& bytes, const std::string& where) : data_(bytes), where_(where) {}
  bool done() const { return pos_ >= data_.size(); }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) bad("a number runs past the end");
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= uint64_t(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    bad("a number is longer than 10 bytes");
    return 0;
  }
  // (field number, wire type) of the next field.
  std::pair<uint32_t, uint32_t> key() {
    const uint64_t k = varint();
    return {static_cast<uint32_t>(k >> 3), static_cast<uint32_t>(k & 7)};
  }
  std::string bytes() {
    const uint64_t n = varint();
    if (n > data_.size() - pos_) bad("a field runs past the end");
    std::string out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  float fixed32_float() {
    if (data_.size() - pos_ < 4) bad("a number runs past the end");
    float f;
    std::memcpy(&f, data_.data() + pos_, 4);  // little-endian, as protobuf and x86/ARM hosts
    pos_ += 4;
    return f;
  }
  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0: varint(); break;
      case 1: advance(8); break;
      case 2: bytes(); break;
      case 5: advance(4); break;
      default: bad("unknown protobuf wire type " + std::to_string(wire_type));
    }
  }
  [[noreturn]] void bad(const std::string& why) const {
    fail(where_, "not a sentencepiece model (" + why + ")");
  }

 private:
  void advance(size_t n) {
    if (data_.size() - pos_ < n) bad("a field runs past the end");
    pos_ += n;
  }
  const std::string& data_;
  std::string where_;
  size_t pos_ = 0;
};

SpmPiece read_piece(const std::string& bytes, const std::string& where) {
  WireReader r(bytes, where);
  SpmPiece p;
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2) p.piece = r.bytes();
    else if (field == 2 && wire == 5) p.score = r.fixed32_float();
    else if (field == 3 && wire == 0) p.type = static_cast<int>(r.varint());
    else r.skip(wire);
  }
  return p;
}

void read_trainer_spec(const std::string& bytes, const std::string& where, SpmModelProto& out) {
  WireReader r(bytes, where);
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 3 && wire == 0) out.model_type = static_cast<int>(r.varint());
    else if (field == 40 && wire == 0) out.unk_id = static_cast<int64_t>(r.varint());
    else r.skip(wire);
  }
}

void read_normalizer_spec(const std::string& bytes, const std::string& where, SpmModelProto& out) {
  WireReader r(bytes, where);
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2) out.normalizer_name = r.bytes();
    else if (field == 2 && wire == 2) out.precompiled_charsmap = r.bytes();
    else if (field == 3 && wire == 0) out.add_dummy_prefix = r.varint() != 0;
    else if (field == 4 && wire == 0) out.remove_extra_whitespaces = r.varint() != 0;
    else r.skip(wire);
  }
}

}  // namespace

SpmModelProto read_spm_model_proto(const std::string& path) {
  const std::string bytes = io::read_file(path);
  WireReader r(bytes, path);
  SpmModelProto out;
  while (!r.done()) {
    const auto [field, wire] = r.key();
    if (field == 1 && wire == 2) out.pieces.push_back(read_piece(r.bytes(), path));
    else if (field == 2 && wire == 2) read_trainer_spec(r.bytes(), path, out);
    else if (field == 3 && wire == 2) read_normalizer_spec(r.bytes(), path, out);
    else r.skip(wire);
  }
  if (out.pieces.empty()) r.bad("no pieces");
  return out;
}

}  // namespace attune::text
