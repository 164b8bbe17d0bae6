// What `attune bench` reads from the device: peak GPU memory of this process, as
// torch.cuda.max_memory_allocated / _reserved report it (so attune and its Python peer
// are measured the same way), and a wait for queued work before a clock is read.
#pragma once
#include <torch/torch.h>

#include <optional>

namespace attune::bench {

struct PeakMemory {
  double allocated_mib = 0;  // tensors alive at the peak
  double reserved_mib = 0;   // what the caching allocator held from the driver
};

// Zeroes the peaks of `device`; a no-op off CUDA.
void reset_peak_memory(const torch::Device& device);
// The peaks since the last reset; empty off CUDA or in builds without CUDA headers.
std::optional<PeakMemory> peak_memory(const torch::Device& device);

// Waits for the device's queued work (CUDA); a no-op on the CPU.
void synchronize(const torch::Device& device);

}  // namespace attune::bench
