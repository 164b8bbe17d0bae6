#include "data/io/sha256.h"

#include "core/error.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace attune::io {
namespace {

// libcrypto fails only when it is out of memory or broken: a bug, not a user error.
void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("libcrypto: ") + what + " failed");
}

std::string hex(const unsigned char* digest, unsigned int size) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  if (!context_) throw std::runtime_error("libcrypto: EVP_MD_CTX_new failed");
  if (EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context_);
    throw std::runtime_error("libcrypto: EVP_DigestInit_ex(sha256) failed");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_); }

void Sha256::update(const void* data, size_t size) { check(EVP_DigestUpdate(context_, data, size), "EVP_DigestUpdate"); }

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  check(EVP_DigestFinal_ex(context_, digest, &size), "EVP_DigestFinal_ex");
  return hex(digest, size);
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  check(EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr), "EVP_Digest(sha256)");
  return hex(digest, size);
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open file: ") + std::strerror(errno));
  Sha256 h;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof(buffer));
    h.update(buffer, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) fail(path, "cannot read file");
  return h.hex_digest();
}

}  // namespace attune::io
