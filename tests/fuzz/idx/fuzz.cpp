// The IDX reader (data/readers/idx.h): bytes in memory, or (when the input holds a
// separator) an images file and a labels file read as a pair.
#include "core/error.h"
#include "data/readers/idx.h"
#include "tests/fuzz/common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = attune::fuzz::split_parts(data, size, 2);
  try {
    if (parts[1].empty()) {
      (void)attune::data::parse_idx(parts[0], "fuzz.idx");
    } else {
      (void)attune::data::read_idx_images(attune::fuzz::write_scratch("images.idx", parts[0]),
                                          attune::fuzz::write_scratch("labels.idx", parts[1]));
    }
  } catch (const attune::UserError&) {
  }
  return 0;
}
