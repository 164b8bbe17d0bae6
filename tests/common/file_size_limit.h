// A file-size limit (ulimit -f) on this process, and the children it starts, for as long
// as it lives: the way tests fill a disk midway, even as root (who ignores permissions).
#pragma once
#include <sys/resource.h>

#include <csignal>

namespace attune::testing {

class FileSizeLimit {
 public:
  // in_process: writes of this process past the limit fail with EFBIG instead of raising
  // SIGXFSZ. Leave it false while starting `attune`: an ignored signal stays ignored
  // across exec, and attune must ignore it itself.
  FileSizeLimit(rlim_t bytes, bool in_process) : in_process_(in_process) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    if (in_process_) previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    if (in_process_) std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  bool in_process_;
  rlimit saved_{};
  void (*previous_handler_)(int) = SIG_DFL;
};

}  // namespace attune::testing
