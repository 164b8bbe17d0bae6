// Parallel text for translation: a TSV of "source<TAB>target" lines, a JSONL of
// {"src": ..., "tgt": ...} objects, or two line-aligned files. Every pair remembers
// where it came from, so later errors can name the file and line.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace attune::data {

struct ParallelText {
  std::vector<std::string> source, target;
  std::vector<std::string> origin;  // "path:line" of each pair
  int64_t size() const { return static_cast<int64_t>(source.size()); }
};

// One "source<TAB>target" pair a line (no header, no quoting; a trailing \r is dropped).
// A line without exactly one tab, or with an empty side, fails naming path:line.
ParallelText read_parallel_tsv(const std::string& path);
// One JSON object a line with string fields source_key and target_key (blank lines skipped).
ParallelText read_parallel_jsonl(const std::string& path, const std::string& source_key = "src",
                                 const std::string& target_key = "tgt");
// Line i of source_path translates to line i of target_path. Different line counts
// fail naming both files; an empty line fails naming its file and line.
ParallelText read_parallel_files(const std::string& source_path, const std::string& target_path);
// By extension: .jsonl/.ndjson/.json -> JSONL (with the keys given), anything else -> TSV.
ParallelText read_parallel(const std::string& path, const std::string& source_key = "src",
                           const std::string& target_key = "tgt");

// Source lines to translate, one a line (a trailing \r dropped; empty lines kept, so
// the output stays line-aligned with the input).
std::vector<std::string> read_text_lines(const std::string& path);
std::vector<std::string> read_text_lines(std::istream& in);

}  // namespace attune::data
