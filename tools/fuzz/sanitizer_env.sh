# Sourced by tools/fuzz/run.sh: the sanitizer settings of every sanitized run (unit
# tests, replays, fuzzing), each with its reason.
#  - halt_on_error / abort_on_error: the first report fails the test or the fuzz run.
#  - detect_leaks=1: LeakSanitizer stays on. LibTorch's and ICU's allocations that live
#    until exit are reachable from their globals and are not reported, so no leak
#    suppression is needed (none is used).
#  - malloc_context_size=8 (default 30): LibTorch's static initialisation allocates so
#    often that recording 30 frames per allocation made each process start take
#    ~30 s on the 2-core machine; 8 frames still show where a bad block came from.
#  - print_stacktrace=1: UBSan reports come with a stack.
# The one LibTorch-specific setting is at compile time (CMakeLists.txt): -fno-sanitize=vptr.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:malloc_context_size=8}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
