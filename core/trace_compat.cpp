#include "core/trace_compat.h"

#include "core/compat.h"

#if ATTUNE_TORCH2
#include <torch/csrc/autograd/profiler_kineto.h>
#endif

namespace attune::compat {

#if ATTUNE_TORCH2
namespace {
namespace profiler = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

const ProfilerConfig& trace_config() {
  static const ProfilerConfig config(ProfilerState::KINETO);
  return config;
}

std::set<ActivityType> trace_activities() {
  std::set<ActivityType> activities{ActivityType::CPU};
  if (torch::cuda::is_available()) activities.insert(ActivityType::CUDA);
  return activities;
}
}  // namespace

bool can_trace() { return true; }

void start_trace() {
  profiler::prepareProfiler(trace_config(), trace_activities());
  profiler::enableProfiler(trace_config(), trace_activities());
}

void stop_trace(const std::string& path) {
  const std::unique_ptr<profiler::ProfilerResult> result = profiler::disableProfiler();
  TORCH_CHECK(result, "the profiler returned no trace");
  result->save(path);
}
#else
bool can_trace() { return false; }

void start_trace() { TORCH_CHECK(false, "traces need LibTorch 2.x (this build has ", TORCH_VERSION, ")"); }

void stop_trace(const std::string& path) { (void)path; }
#endif

}  // namespace attune::compat
