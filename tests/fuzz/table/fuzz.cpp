// The CSV / TSV / JSONL table reader (data/readers/table.h). The first byte picks the
// format; the rest is the file.
#include "core/error.h"
#include "data/readers/table.h"
#include "tests/fuzz/common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kNames[] = {"t.csv", "t.tsv", "t.jsonl", "t.txt"};
  const char* name = kNames[data[0] % 4];
  const std::string path = attune::fuzz::write_scratch(name, std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  try {
    // t.txt has no known extension: read it as CSV by name, which checks that path too.
    const attune::data::Table t =
        attune::data::read_table(path, data[0] % 4 == 3 ? attune::data::TableFormat::kCsv : attune::data::TableFormat::kAuto);
    for (size_t r = 0; r < t.rows.size(); ++r) {
      if (t.rows[r].size() != t.columns.size()) std::abort();  // the reader promises equal widths
      (void)t.where(static_cast<int64_t>(r));
    }
    (void)t.column_index(t.columns.front(), "fuzz");
  } catch (const attune::UserError&) {
  }
  return 0;
}
