// attune_tokenizer_json_dump TOKENIZER_JSON LINES: the window of
// tools/parity/tokenizer_json_parity.py into attune's tokenizer.json reader. Encodes each
// line of LINES (with special tokens, no truncation) and prints one JSON object per line:
// ids, type_ids, offsets (UTF-8 byte offsets into the line) and decoded (the ids decoded
// with special tokens skipped, as tokenizers' decode does by default).
#include "core/error.h"
#include "core/files.h"
#include "data/text/hf_tokenizer_json/hf_json_tokenizer.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
  using namespace attune;
  if (argc != 3) {
    std::cerr << "usage: attune_tokenizer_json_dump TOKENIZER_JSON LINES\n";
    return 2;
  }
  try {
    const auto tokenizer = text::HfJsonTokenizer::load(argv[1]);
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) fail(argv[2], "cannot open");
    for (std::string line; std::getline(in, line);) {
      const auto e = tokenizer->encode_with_offsets(line, nullptr, true);
      nlohmann::json offsets = nlohmann::json::array();
      for (const auto& [s, t] : e.offsets) offsets.push_back({s, t});
      // Invalid UTF-8 in a line must not stop the dump: replace rather than throw.
      const nlohmann::json out = {{"ids", e.ids}, {"type_ids", e.type_ids}, {"offsets", offsets},
                                  {"decoded", tokenizer->decode(e.ids, true)}};
      std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
  } catch (const UserError& e) {
    std::cerr << first_line(e.what()) << '\n';
    return 2;
  }
  return 0;
}
