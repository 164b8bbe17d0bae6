// TensorBoard event files (data/formats/tfevents.h), read as --resume reads them: with a
// torn last record allowed, and strictly.
#include "core/error.h"
#include "data/formats/tfevents.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  for (const bool torn : {true, false}) {
    try {
      (void)attune::formats::parse_tfevents(bytes, "fuzz.tfevents", torn);
    } catch (const attune::UserError&) {
    }
  }
  return 0;
}
