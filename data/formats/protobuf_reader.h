// A protobuf message read field by field from its wire format, with bounds checks: what
// attune needs of TensorBoard's event files and sentencepiece's model files, without the
// protobuf library.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

namespace attune::formats {

// Little-endian fixed-size integer of `size` bytes at `at`.
uint64_t get_fixed(const std::string& bytes, size_t at, int size);

class ProtoReader {
 public:
  // `where` names the file or record in errors.
  ProtoReader(const std::string& bytes, std::string where) : bytes_(bytes), where_(std::move(where)) {}
  bool done() const { return at_ >= bytes_.size(); }
  // The next field's (number, wire type).
  std::pair<uint32_t, int> key();
  uint64_t varint();
  uint64_t fixed(int size);
  float fixed32_float();
  std::string bytes();
  void skip(int wire_type);

 private:
  void need(uint64_t size) const;
  const std::string& bytes_;
  std::string where_;
  size_t at_ = 0;
};

}  // namespace attune::formats
