// What the fuzz harnesses share: splitting one input into several files, and a scratch
// directory for readers that take paths. A harness catches attune::UserError only (the
// one-line error bad input must give); any other exception, crash or sanitizer report
// is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace attune::fuzz {

// Parts of a multi-file input are separated by this line (seeds are written with it).
inline constexpr const char* kSeparator = "\n#---#\n";

inline std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t max_parts) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string sep = kSeparator;
  std::vector<std::string> parts;
  size_t from = 0;
  while (parts.size() + 1 < max_parts) {
    const size_t at = text.find(sep, from);
    if (at == std::string::npos) break;
    parts.push_back(text.substr(from, at - from));
    from = at + sep.size();
  }
  parts.push_back(text.substr(from));
  parts.resize(max_parts);
  return parts;
}

// One scratch directory per process, in /dev/shm when there is one (fuzzing writes files
// thousands of times a second).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
    std::string tmpl = base + "/attune-fuzz-XXXXXX";
    if (!mkdtemp(tmpl.data())) std::abort();
    std::filesystem::path p(tmpl);
    static struct Cleanup {
      std::filesystem::path p;
      ~Cleanup() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
      }
    } cleanup{p};
    return p;
  }();
  return dir;
}

// Writes `bytes` to scratch_dir()/name and returns the path.
inline std::string write_scratch(const std::string& name, const std::string& bytes) {
  const std::filesystem::path path = scratch_dir() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path.string();
}

}  // namespace attune::fuzz
