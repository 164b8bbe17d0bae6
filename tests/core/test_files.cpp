#include "tests/catch.h"
#include "tests/common/errors.h"
#include "tests/common/file_size_limit.h"

#include "core/error.h"
#include "core/files.h"
#include "tests/common/synthetic.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using attune::testing::error_of;

// Unity builds share one translation unit between test files: a named namespace keeps
// this file's helpers from colliding with theirs.
namespace attune::io_test {

namespace fs = std::filesystem;
namespace io = attune::io;
using attune::UserError;
using nlohmann::json;

namespace {

void write_plain(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("read_file reads bytes exactly and names the file in errors", "[io]") {
  const std::string dir = attune::testing::temp_dir("io-read");
  const std::string bytes = std::string("a\0b\r\n\xff", 6);
  write_plain(dir + "/f.bin", bytes);
  CHECK(io::read_file(dir + "/f.bin") == bytes);
  CHECK(error_of([&] { io::read_file(dir + "/missing.txt"); }) ==
        dir + "/missing.txt: cannot open file: No such file or directory");
  CHECK(error_of([&] { io::read_file(dir); }) == dir + ": is a directory, expected a file");
}

TEST_CASE("write_file_atomic replaces the whole file and leaves no temporary behind", "[io]") {
  const std::string dir = attune::testing::temp_dir("io-write");
  const std::string path = dir + "/out.txt";
  io::write_file_atomic(path, "first version, long");
  io::write_file_atomic(path, "second");
  CHECK(io::read_file(path) == "second");
  CHECK(entries(dir) == std::vector<std::string>{"out.txt"});
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);  // not mkstemp's 0600

  chmod(path.c_str(), 0600);
  io::write_file_atomic(path, "third");
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // a replaced file keeps its mode

  io::write_file_atomic(path, "");
  CHECK(io::read_file(path).empty());
}

TEST_CASE("a failed atomic write keeps the old file and cleans up", "[io]") {
  const std::string dir = attune::testing::temp_dir("io-fail");
  const std::string path = dir + "/state.json";
  write_plain(path, "old contents");

  SECTION("the write itself fails midway") {
    std::string message;
    {
      attune::testing::FileSizeLimit limit(64, /*in_process=*/true);
      message = error_of([&] { io::write_file_atomic(path, std::string(4096, 'x')); });
    }
    CHECK(message == path + ": cannot write: File too large");
  }
  SECTION("the target is a directory") {
    fs::create_directory(dir + "/sub");
    const std::string message = error_of([&] { io::write_file_atomic(dir + "/sub", "new"); });
    CHECK(message.rfind(dir + "/sub: cannot replace file: ", 0) == 0);
    CHECK(fs::is_directory(dir + "/sub"));
    fs::remove(dir + "/sub");
  }
  SECTION("the directory does not exist") {
    CHECK(error_of([&] { io::write_file_atomic(dir + "/no/such/file", "new"); }) ==
          dir + "/no/such/file: cannot create a temporary file beside it: No such file or directory");
  }
  SECTION("the directory is not writable") {
    // Root writes anywhere, so only other users can see this failure.
    if (geteuid() != 0) {
      chmod(dir.c_str(), 0555);
      const std::string message = error_of([&] { io::write_file_atomic(path, "new"); });
      chmod(dir.c_str(), 0755);
      CHECK(message.find("Permission denied") != std::string::npos);
    }
  }
  CHECK(io::read_file(path) == "old contents");
  CHECK(entries(dir) == std::vector<std::string>{"state.json"});
}

TEST_CASE("JSON files are written pretty and read with positioned errors", "[io]") {
  const std::string dir = attune::testing::temp_dir("io-json");
  const std::string path = dir + "/c.json";
  io::write_json_atomic(path, {{"a", 1}, {"b", {true, nullptr}}});
  CHECK(io::read_file(path) == "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null\n  ]\n}\n");
  CHECK(io::read_json(path) == json{{"a", 1}, {"b", {true, nullptr}}});

  // The position is the byte where the parser gave up: here the newline ending "tru".
  write_plain(path, "{\n  \"a\": 1,\n  \"b\": tru\n}\n");
  CHECK(error_of([&] { io::read_json(path); }).rfind(path + ": invalid JSON at line 3, column 11: syntax error", 0) == 0);
  write_plain(path, "{\"a\": 1,}");
  CHECK(error_of([&] { io::read_json(path); }).rfind(path + ": invalid JSON at line 1, column 9: ", 0) == 0);
  write_plain(path, "[1, 2");
  const std::string truncated = error_of([&] { io::read_json(path); });
  CHECK(truncated.rfind(path + ": invalid JSON at line 1, column 6: ", 0) == 0);
  CHECK(truncated.find("unexpected end of input") != std::string::npos);
  write_plain(path, "");
  CHECK(error_of([&] { io::read_json(path); }).rfind(path + ": invalid JSON at line 1, column 1: ", 0) == 0);
}

TEST_CASE("append_line and truncate_jsonl_after keep a metrics log consistent", "[io]") {
  const std::string dir = attune::testing::temp_dir("io-jsonl");
  const std::string path = dir + "/metrics.jsonl";
  for (int step = 1; step <= 5; ++step) io::append_line(path, json{{"step", step}}.dump());
  CHECK(io::read_file(path) == "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"step\":4}\n{\"step\":5}\n");

  // A crash mid-append leaves a torn last line; resuming at step 3 drops it and later steps.
  std::ofstream(path, std::ios::app) << "{\"step\":6, \"lo";
  io::truncate_jsonl_after(path, [](const json& line) { return line.at("step").get<int>() <= 3; });
  CHECK(io::read_file(path) == "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
  CHECK(entries(dir) == std::vector<std::string>{"metrics.jsonl"});

  io::truncate_jsonl_after(dir + "/absent.jsonl", [](const json&) { return true; });
  CHECK_FALSE(fs::exists(dir + "/absent.jsonl"));
  CHECK(error_of([&] { io::append_line(dir + "/no/such.jsonl", "{}"); }).rfind(dir + "/no/such.jsonl: ", 0) == 0);
}

TEST_CASE("is_tty is false for files and pipes", "[io]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  CHECK_FALSE(io::is_tty(fds[0]));
  CHECK_FALSE(io::is_tty(fds[1]));
  close(fds[0]);
  close(fds[1]);
  CHECK_FALSE(io::is_tty(-1));
}

TEST_CASE("remove_tree removes nested directories and files, and ignores missing paths", "[io]") {
  const std::string dir = attune::testing::temp_dir("io-remove");
  fs::create_directories(dir + "/a/b/c");
  write_plain(dir + "/a/b/c/file", "x");
  write_plain(dir + "/a/top", "y");
  fs::create_symlink(dir + "/a/top", dir + "/a/link");
  io::remove_tree(dir + "/a");
  CHECK_FALSE(fs::exists(dir + "/a"));
  CHECK(fs::exists(dir));
  write_plain(dir + "/single", "z");
  io::remove_tree(dir + "/single");
  CHECK_FALSE(fs::exists(dir + "/single"));
  CHECK_NOTHROW(io::remove_tree(dir + "/never-existed"));
}

}  // namespace attune::io_test

TEST_CASE("list_files walks a tree into sorted relative paths", "[io]") {
  namespace fs = std::filesystem;
  const std::string dir = attune::testing::temp_dir("list-files");
  fs::create_directories(dir + "/b/c");
  fs::create_directories(dir + "/empty");
  for (const char* f : {"z.txt", "a.txt", "b/c/d.bin", "b/x"}) std::ofstream(dir + "/" + f) << f;
  fs::create_symlink(dir + "/a.txt", dir + "/link");
  CHECK(attune::io::list_files(dir) == std::vector<std::string>{"a.txt", "b/c/d.bin", "b/x", "z.txt"});
  CHECK(attune::io::list_files(dir + "/empty").empty());
}
