// Errors caused by the user's input (files, configs, flags). The CLI prints their
// message as one line on stderr and exits with status 2; anything else is a bug.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace attune {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
  UserError(std::string where, std::string reason)
      : std::runtime_error(where.empty() ? reason : where + ": " + reason),
        where_(std::move(where)),
        reason_(std::move(reason)) {}
  // The file (with ":line"), config key or flag at fault; "" when not known.
  const std::string& where() const { return where_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string where_, reason_;
};

// "where" is a file (optionally with ":line"), a config key or a flag.
[[noreturn]] inline void fail(const std::string& where, const std::string& message) {
  throw UserError(where, message);
}

// The first line of a message, for errors that must stay one line. A TorchScript
// interpreter error puts its generic header first and the reason ("RuntimeError: ...")
// last, after the traceback, so for those the last non-empty line is the one that says why.
inline std::string first_line(const std::string& text) {
  static const std::string kInterpreter = "The following operation failed in the TorchScript interpreter.";
  if (text.compare(0, kInterpreter.size(), kInterpreter) == 0) {
    const size_t end = text.find_last_not_of("\n ");
    if (end != std::string::npos) {
      const size_t start = text.rfind('\n', end);
      return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
    }
  }
  return text.substr(0, text.find('\n'));
}

// "file:line", the place of a line-oriented input (CSV rows, JSONL requests, vocabularies).
inline std::string at_line(const std::string& file, int64_t line) { return file + ":" + std::to_string(line); }

}  // namespace attune
