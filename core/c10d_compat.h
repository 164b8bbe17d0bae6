// LibTorch's c10d (TCPStore, Gloo, NCCL) as attune uses it, the same on Debian's
// LibTorch 1.13 and PyTorch 2.x's: the one place that knows how the two differ.
//   - 1.13's ProcessGroupGloo/NCCL derive from c10d::ProcessGroup; 2.x split the
//     collectives out into c10d::Backend, which they derive from instead.
//   - 2.x's TCPStoreOptions gained fields (useLibUV, masterListenFd) with defaults.
// A backend is compiled in only where CMakeLists.txt found its headers (ATTUNE_C10D_GLOO,
// ATTUNE_C10D_NCCL); NCCL also needs USE_C10D_NCCL, which only a CUDA LibTorch built with
// NCCL defines (TorchConfig).
#pragma once
#include <torch/torch.h>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#if defined(ATTUNE_C10D_GLOO)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // ProcessGroupGloo.hpp is empty without it
#endif
#define ATTUNE_HAS_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(ATTUNE_C10D_NCCL) && defined(USE_C10D_NCCL)
#define ATTUNE_HAS_NCCL 1
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdint>
#include <string>

namespace attune::compat {

#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

#ifdef ATTUNE_HAS_GLOO
constexpr bool kHasGloo = true;
#else
constexpr bool kHasGloo = false;
#endif
#ifdef ATTUNE_HAS_NCCL
constexpr bool kHasNccl = true;
#else
constexpr bool kHasNccl = false;
#endif

// The rank-0 side serves the store; every rank (rank 0 too) is a client of it. Workers
// are not awaited here: attune's own rendezvous names the ranks that do not arrive.
inline c10::intrusive_ptr<c10d::Store> tcp_store(const std::string& host, uint16_t port, bool is_server,
                                                 std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = port;
  o.isServer = is_server;
  o.waitWorkers = false;
  o.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}

// Gloo over TCP on the interface GLOO_SOCKET_IFNAME names (as torch.distributed reads
// it), else on the address this host's name resolves to.
inline c10::intrusive_ptr<Collectives> gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                  std::chrono::milliseconds timeout, const std::string& interface) {
#ifdef ATTUNE_HAS_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(interface.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                               : c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  options->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
#else
  (void)store; (void)rank; (void)size; (void)timeout; (void)interface;
  TORCH_CHECK(false, "this build has no Gloo");
#endif
}

// NCCL on `device`, which becomes this thread's current device: NCCL's barrier (and any
// work without a tensor) runs on the current device, which must be this rank's GPU.
inline c10::intrusive_ptr<Collectives> nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                  std::chrono::milliseconds timeout, const torch::Device& device) {
#ifdef ATTUNE_HAS_NCCL
  c10::cuda::set_device(device.index());
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
#else
  (void)store; (void)rank; (void)size; (void)timeout; (void)device;
  TORCH_CHECK(false, "this build has no NCCL");
#endif
}

}  // namespace attune::compat
