#include "tasks/bench/device_memory.h"

#include <torch/cuda.h>

// Only CUDA builds of LibTorch ship a usable allocator header (it includes CUDA's own).
#if defined(__has_include)
#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define ATTUNE_CUDA_ALLOCATOR_STATS 1
#endif
#endif

namespace attune::bench {

void reset_peak_memory(const torch::Device& device) {
#ifdef ATTUNE_CUDA_ALLOCATOR_STATS
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
#else
  (void)device;
#endif
}

std::optional<PeakMemory> peak_memory(const torch::Device& device) {
#ifdef ATTUNE_CUDA_ALLOCATOR_STATS
  if (!device.is_cuda()) return std::nullopt;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
  constexpr size_t kAggregate = 0;  // StatType::AGGREGATE: all pool kinds together
  PeakMemory peak;
  peak.allocated_mib = static_cast<double>(stats.allocated_bytes[kAggregate].peak) / (1 << 20);
  peak.reserved_mib = static_cast<double>(stats.reserved_bytes[kAggregate].peak) / (1 << 20);
  return peak;
#else
  (void)device;
  return std::nullopt;
#endif
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

}  // namespace attune::bench
