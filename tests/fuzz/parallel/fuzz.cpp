// The parallel-text readers (data/readers/parallel.h): TSV, JSONL, line-aligned file
// pairs and plain text lines. The first byte picks the reader.
#include "core/error.h"
#include "data/readers/parallel.h"
#include "tests/fuzz/common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<std::string> parts = attune::fuzz::split_parts(data + 1, size - 1, 2);
  try {
    attune::data::ParallelText text;
    switch (data[0] % 4) {
      case 0: text = attune::data::read_parallel(attune::fuzz::write_scratch("p.tsv", parts[0] + parts[1])); break;
      case 1: text = attune::data::read_parallel(attune::fuzz::write_scratch("p.jsonl", parts[0] + parts[1])); break;
      case 2:
        text = attune::data::read_parallel_files(attune::fuzz::write_scratch("p.src", parts[0]),
                                                 attune::fuzz::write_scratch("p.tgt", parts[1]));
        break;
      default: (void)attune::data::read_text_lines(attune::fuzz::write_scratch("p.txt", parts[0])); return 0;
    }
    if (text.source.size() != text.target.size() || text.origin.size() != text.source.size()) std::abort();
  } catch (const attune::UserError&) {
  }
  return 0;
}
