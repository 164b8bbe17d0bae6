// SHA-256 (FIPS 180-4) of byte strings and files, for the checksums that bundles list
// for every file they ship. Plain C++: no crypto library is linked for this one use.
#pragma once
#include <cstdint>
#include <string>

namespace attune::io {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  // Lower-case hex of the 32-byte digest; the object is spent afterwards.
  std::string hex_digest();

 private:
  void block(const unsigned char* p);
  uint32_t state_[8];
  unsigned char buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const std::string& bytes);
// Streams the file; fails naming it when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace attune::io
