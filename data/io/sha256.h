// SHA-256 of byte strings and files, for the checksums that bundles list for every
// file they ship. OpenSSL's libcrypto computes it; its headers stay out of this one.
#pragma once
#include <cstddef>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace attune::io {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  // Lower-case hex of the 32-byte digest; the object is spent afterwards.
  std::string hex_digest();

 private:
  evp_md_ctx_st* context_;
};

std::string sha256_hex(const std::string& bytes);
// Streams the file; fails naming it when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace attune::io
