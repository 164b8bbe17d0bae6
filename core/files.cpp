#include "core/files.h"

#include "core/error.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::io {
namespace {

[[noreturn]] void fail_errno(const std::string& path, const std::string& what, int error) {
  fail(path, what + ": " + std::strerror(error));
}

void write_all(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(path, "cannot write", errno);
    }
    done += static_cast<size_t>(n);
  }
}

}  // namespace

// nlohmann's message reads "[json.exception.parse_error.101] parse error at line 1, column 7:
// syntax error while parsing ..."; keep only the part after the position.
std::string json_parse_reason(const std::string& what) {
  const auto column = what.find("column ");
  const auto colon = what.find(": ", column == std::string::npos ? 0 : column);
  if (colon != std::string::npos) return what.substr(colon + 2);
  // "[json.exception.out_of_range.406] number overflow parsing '1e999'": no position.
  const auto bracket = what.rfind("] ", what.find(' '));
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

nlohmann::json parse_json_line(const std::string& line, const std::string& where) {
  try {
    return nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, or out_of_range for a number too large for a double ("1e999").
    fail(where, "invalid JSON: " + json_parse_reason(e.what()));
  }
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_errno(path, "cannot open file", errno);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail(path, "cannot read file");
  return buffer.str();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // The temporary file sits beside the target: rename() is atomic only within one file system.
  std::string temp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) fail_errno(path, "cannot create a temporary file beside it", errno);
  // mkstemp makes the file 0600; keep the mode of the file being replaced, else 0644.
  struct stat existing {};
  ::fchmod(fd, ::stat(path.c_str(), &existing) == 0 ? (existing.st_mode & 07777) : 0644);
  try {
    write_all(fd, bytes, path);
    if (::fsync(fd) != 0) fail_errno(path, "cannot sync", errno);
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    fail_errno(path, "cannot write", error);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    fail_errno(path, "cannot replace file", error);
  }
  // Make the rename itself durable: a crash now leaves the new file, not the old one.
  sync_directory(dir.string());
}

void sync_directory(const std::string& dir) {
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_json_atomic(const std::string& path, const nlohmann::json& value) {
  write_file_atomic(path, value.dump(2) + "\n");
}

nlohmann::json read_json(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts the bytes read, so the offending byte is at index byte - 1.
    const size_t offset = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    fail(path, "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
                   json_parse_reason(e.what()));
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double ("1e999") is out_of_range, not a parse_error
    // (found by tests/fuzz/bundle).
    fail(path, "invalid JSON: " + json_parse_reason(e.what()));
  }
}

void append_line(const std::string& path, const std::string& line) { append_bytes(path, line + '\n'); }

void append_bytes(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(path, "cannot open for appending", errno);
  try {
    write_all(fd, bytes, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) fail_errno(path, "cannot write", errno);
}

void truncate_jsonl_after(const std::string& path, const std::function<bool(const nlohmann::json&)>& keep) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  std::istringstream in(read_file(path));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) continue;  // a line torn by a crash mid-append
    if (keep(j)) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

bool is_tty(int fd) { return ::isatty(fd) == 1; }

namespace {
int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }
}  // namespace

void remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) fail_errno(path, "cannot remove", errno);
}

void require_empty_output_dir(const std::string& dir) {
  if (fs::exists(dir) && (!fs::is_directory(dir) || !fs::is_empty(dir))) {
    fail(dir, "output directory exists and is not empty");
  }
}

namespace {
void list_into(const fs::path& dir, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = prefix + entry.path().filename().string();
    if (entry.is_symlink()) continue;
    if (entry.is_directory()) {
      list_into(entry.path(), name + "/", out);
    } else if (entry.is_regular_file()) {
      out.push_back(name);
    }
  }
}
}  // namespace

std::vector<std::string> list_files(const std::string& dir) {
  std::vector<std::string> out;
  list_into(dir, "", out);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace attune::io
