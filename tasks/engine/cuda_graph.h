// One CUDA graph: work captured once on a side stream, as CUDA requires, and replayed
// on the current stream with one launch. Only CUDA builds of LibTorch 2.x have them;
// elsewhere supported() is false and nothing here may be called.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>

namespace attune::engine {

class CudaGraph {
 public:
  static bool supported();

  // Graphs made with `share_memory_with` take their memory from its pool: safe while
  // they are replayed one at a time and what each leaves behind is read before the next.
  explicit CudaGraph(const CudaGraph* share_memory_with = nullptr);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Runs `work` under capture on `device` (nothing executes); tensors it allocates live
  // in the graph's pool. An exception in `work` ends the capture and propagates.
  void capture(const torch::Device& device, const std::function<void()>& work);
  void replay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attune::engine
