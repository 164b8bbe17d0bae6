#include "tests/catch.h"
#include "tests/common/errors.h"

#include "core/error.h"
#include "data/readers/table.h"
#include "tests/common/synthetic.h"

#include <fstream>

using attune::testing::error_of;

namespace attune::table_test {

using data::read_table;
using data::TableFormat;

std::string write(const std::string& dir, const std::string& name, const std::string& content) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST_CASE("CSV: quotes, embedded newlines and separators, doubled quotes, CRLF, BOM", "[table]") {
  const std::string dir = testing::temp_dir("table-csv");
  const std::string path = write(dir, "a.csv",
                                 "\xEF\xBB\xBFtext,label\r\n"
                                 "\"hello, world\",greet\r\n"
                                 "\r\n"
                                 "\"line one\r\nline two\",multi\r\n"
                                 "\"she said \"\"hi\"\"\",quote\n"
                                 "plain,\"\"\n"
                                 "a\"b,literal\n");
  const auto t = read_table(path);
  REQUIRE(t.columns == std::vector<std::string>{"text", "label"});
  REQUIRE(t.rows.size() == 5);
  CHECK(t.rows[0] == std::vector<std::string>{"hello, world", "greet"});
  CHECK(t.rows[1][0] == "line one\r\nline two");
  CHECK(t.rows[2][0] == "she said \"hi\"");
  CHECK(t.rows[3][1].empty());
  CHECK(t.rows[4][0] == "a\"b");
  // Lines are where each record starts, counting the embedded newline.
  CHECK(t.lines == std::vector<int64_t>{2, 4, 6, 7, 8});
  CHECK(t.where(2) == path + ":6");
  CHECK(t.column_index("label", "data.label_column") == 1);
}

TEST_CASE("CSV errors name the file and line", "[table][errors]") {
  const std::string dir = testing::temp_dir("table-errors");
  CHECK(error_of([&] { read_table(write(dir, "fields.csv", "a,b\n1,2\n\"x\ny\",2,3\n")); }) ==
        dir + "/fields.csv:3: expected 2 fields, found 3");
  CHECK(error_of([&] { read_table(write(dir, "quote.csv", "a,b\n1,2\n3,\"open\n4,5\n")); }) ==
        dir + "/quote.csv:3: unterminated quoted field");
  CHECK(error_of([&] { read_table(dir + "/missing.csv"); }).find(dir + "/missing.csv: cannot open") == 0);
  CHECK(error_of([&] { read_table(write(dir, "empty.csv", "")); }).find(dir + "/empty.csv: ") == 0);
  CHECK(error_of([&] { read_table(write(dir, "header.csv", "a,b\n")); }) == dir + "/header.csv: no data rows");
  CHECK(error_of([&] { read_table(write(dir, "x.dat", "a,b\n1,2\n")); }).find("set data.format") != std::string::npos);
  const auto t = read_table(write(dir, "ok.csv", "a,b\n1,2\n"));
  CHECK(error_of([&] { t.column_index("c", "data.text_column"); }) ==
        "data.text_column: column 'c' not in " + dir + "/ok.csv (columns: a, b)");
  CHECK(error_of([&] { data::parse_table_format("xml", "data.format"); }).find("data.format: unknown format") == 0);
}

TEST_CASE("TSV fields are literal", "[table]") {
  const std::string dir = testing::temp_dir("table-tsv");
  const auto t = read_table(write(dir, "a.tsv", "src\ttgt\n\"quoted\", kept\tx\n"));
  CHECK(t.rows[0][0] == "\"quoted\", kept");
  CHECK(t.rows[0][1] == "x");
  CHECK(read_table(write(dir, "b.txt", "a\tb\n1\t2\n"), TableFormat::kTsv).rows.size() == 1);
}

TEST_CASE("JSONL: columns from the first object, values as text, errors with lines", "[table]") {
  const std::string dir = testing::temp_dir("table-jsonl");
  const auto t = read_table(write(dir, "a.jsonl", "{\"text\": \"hi\\nthere\", \"label\": 3, \"x\": null}\n\n"
                                                   "{\"label\": true, \"text\": \"b\", \"x\": 1.5, \"extra\": 0}\n"));
  CHECK(t.columns == std::vector<std::string>{"text", "label", "x"});  // the first object's key order
  CHECK(t.rows[0] == std::vector<std::string>{"hi\nthere", "3", ""});
  CHECK(t.rows[1] == std::vector<std::string>{"b", "true", "1.5"});
  CHECK(t.lines == std::vector<int64_t>{1, 3});
  CHECK(error_of([&] { read_table(write(dir, "bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\",}\n")); })
            .find(dir + "/bad.jsonl:2: invalid JSON") == 0);
  CHECK(error_of([&] { read_table(write(dir, "miss.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n")); }) ==
        dir + "/miss.jsonl:2: missing key 'label'");
  CHECK(error_of([&] { read_table(write(dir, "arr.jsonl", "[1, 2]\n")); }) == dir + "/arr.jsonl:1: expected a JSON object");
}

}  // namespace attune::table_test
