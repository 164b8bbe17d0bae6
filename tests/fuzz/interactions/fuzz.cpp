// The interaction-log reader (data/readers/interactions.h): MovieLens ratings.dat and
// u.data, and CSV / TSV / JSONL with named columns. The first byte picks the format.
#include "core/error.h"
#include "data/readers/interactions.h"
#include "tests/fuzz/common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kNames[] = {"ratings.dat", "u.data", "log.csv", "log.tsv", "log.jsonl"};
  const uint8_t mode = data[0];
  const std::string path =
      attune::fuzz::write_scratch(kNames[mode % 5], std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  attune::data::InteractionColumns columns;
  if (mode & 0x10) columns.time = "time";
  if (mode & 0x20) columns.rating = "rating";
  if ((mode & 0x40) && mode % 5 >= 2) columns.features = {"age"};
  try {
    const attune::data::InteractionLog log = attune::data::read_interactions(path, columns, "data");
    for (size_t r = 0; r < log.rows.size(); ++r) (void)log.where(r);
  } catch (const attune::UserError&) {
  }
  return 0;
}
