#include "tasks/engine/cuda_graph.h"

#include <torch/cuda.h>
#include <torch/version.h>

// Only CUDA builds of LibTorch ship usable graph headers (they include CUDA's own).
#if defined(__has_include)
#if TORCH_VERSION_MAJOR >= 2 && __has_include(<ATen/cuda/CUDAGraph.h>) && __has_include(<cuda_runtime_api.h>)
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define ATTUNE_CUDA_GRAPHS 1
#endif
#endif

namespace attune::engine {

#ifdef ATTUNE_CUDA_GRAPHS

struct CudaGraph::Impl {
  at::cuda::CUDAGraph graph;
  decltype(at::cuda::graph_pool_handle()) pool{0, 0};
};

bool CudaGraph::supported() { return torch::cuda::is_available(); }

CudaGraph::CudaGraph(const CudaGraph* share_memory_with) : impl_(std::make_unique<Impl>()) {
  impl_->pool = share_memory_with ? share_memory_with->impl_->pool : at::cuda::graph_pool_handle();
}

CudaGraph::~CudaGraph() = default;

void CudaGraph::capture(const torch::Device& device, const std::function<void()>& work) {
  TORCH_CHECK(device.is_cuda(), "CudaGraph: capture needs a CUDA device, got ", device.str());
  const c10::DeviceIndex index = device.has_index() ? device.index() : 0;
  c10::cuda::CUDAGuard device_guard(index);
  // As torch.cuda.graph: the eager steps before are done, and their cached blocks go back
  // to the driver, so the graph's pool does not come on top of them. The same for cuBLAS's
  // workspace of the current stream: the capture stream gets its own, and replays need
  // no other (an eager call later makes it again).
  torch::cuda::synchronize(index);
  at::cuda::clearCublasWorkspaces();
  c10::cuda::CUDACachingAllocator::emptyCache();
  c10::cuda::CUDAStreamGuard stream_guard(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index));
  // Thread-local: a data-parallel step captures NCCL's kernels while NCCL's watchdog
  // thread queries the events of earlier collectives, which a global capture forbids (as
  // torch.compile's CUDA graphs capture).
  impl_->graph.capture_begin(impl_->pool, cudaStreamCaptureModeThreadLocal);
  try {
    work();
  } catch (...) {
    try {
      impl_->graph.capture_end();
    } catch (...) {
      // The capture was already invalid; the first error is the one to report.
    }
    throw;
  }
  impl_->graph.capture_end();
}

void CudaGraph::replay() { impl_->graph.replay(); }

#else

struct CudaGraph::Impl {};

bool CudaGraph::supported() { return false; }

CudaGraph::CudaGraph(const CudaGraph*) { TORCH_CHECK(false, "this build of LibTorch has no CUDA graphs"); }

CudaGraph::~CudaGraph() = default;

void CudaGraph::capture(const torch::Device&, const std::function<void()>&) {
  TORCH_CHECK(false, "this build of LibTorch has no CUDA graphs");
}

void CudaGraph::replay() { TORCH_CHECK(false, "this build of LibTorch has no CUDA graphs"); }

#endif

}  // namespace attune::engine
