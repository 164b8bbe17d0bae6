// A Chrome trace of the ops the host ran and the kernels the GPU ran between start and
// stop (PyTorch's Kineto profiler), for kernel-time breakdowns (tools/bench/kernel_breakdown.py).
// LibTorch 2.x only: Debian's 1.13 is built without Kineto.
#pragma once
#include <string>

namespace attune::compat {

// Whether this LibTorch can record traces.
bool can_trace();
// Starts recording host ops and CUDA kernels; fails where can_trace() is false.
void start_trace();
// Stops recording and writes the trace as Chrome trace JSON to `path`.
void stop_trace(const std::string& path);

}  // namespace attune::compat
