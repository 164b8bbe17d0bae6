#include "tests/catch.h"

#include "data/io/sha256.h"
#include "tests/common/errors.h"
#include "tests/common/synthetic.h"

#include <fstream>

using attune::io::Sha256;
using attune::io::sha256_file;
using attune::io::sha256_hex;

TEST_CASE("SHA-256 gives the FIPS 180-4 test vectors", "[io][sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the padding needs a second block.
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 of pieces and of files equals that of the whole", "[io][sha256]") {
  std::string bytes;
  for (int i = 0; i < 5000; ++i) bytes += static_cast<char>((i * 131 + 7) % 256);
  const std::string whole = sha256_hex(bytes);
  for (size_t piece : {1, 3, 63, 64, 65, 1000}) {
    CAPTURE(piece);
    Sha256 h;
    for (size_t at = 0; at < bytes.size(); at += piece) h.update(bytes.data() + at, std::min(piece, bytes.size() - at));
    CHECK(h.hex_digest() == whole);
  }
  const std::string dir = attune::testing::temp_dir("sha256");
  std::ofstream(dir + "/f", std::ios::binary) << bytes;
  CHECK(sha256_file(dir + "/f") == whole);
  CHECK(attune::testing::error_of([&] { sha256_file(dir + "/missing"); }).rfind(dir + "/missing: cannot open file", 0) == 0);
}
