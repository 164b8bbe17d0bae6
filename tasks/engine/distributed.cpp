#include "tasks/engine/distributed.h"

#include "core/c10d_compat.h"
#include "core/error.h"
#include "tasks/engine/settings.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::engine {
namespace {

std::string seconds(std::chrono::milliseconds t) {
  std::ostringstream s;
  s << t.count() / 1000.0 << " s";
  return s.str();
}

struct Fnv {
  uint64_t h = 1469598103934665603ULL;
  void add(const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(data[i])) * 1099511628211ULL;
  }
  void add(const std::string& s) { add(s.data(), s.size()); }
  std::string hex() const {
    std::ostringstream s;
    s << std::hex << std::setw(16) << std::setfill('0') << h;
    return s.str();
  }
};

std::string hash_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Fnv fnv;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    fnv.add(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  return fnv.hex();
}

// Every string of the config that names a regular file: the data a run reads.
void add_file_sizes(const nlohmann::json& value, Fnv& fnv) {
  if (value.is_object() || value.is_array()) {
    for (const auto& item : value) add_file_sizes(item, fnv);
  } else if (value.is_string()) {
    const std::string path = value.get<std::string>();
    std::error_code error;
    if (path.empty() || !fs::is_regular_file(path, error)) return;
    fnv.add(path + ":" + std::to_string(fs::file_size(path, error)) + ";");
  }
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

std::string beat_key(int rank) { return "attune/beat/" + std::to_string(rank); }

}  // namespace

nlohmann::json Fingerprint::to_json() const { return {{"config", config}, {"code", code}, {"data", data}}; }

Fingerprint fingerprint_of(const nlohmann::json& config) {
  nlohmann::json shared = config;
  // Each rank runs on its own GPU and its share of the cores.
  shared.erase("device");
  shared.erase("threads");
  Fingerprint f;
  Fnv c;
  c.add(shared.dump());
  f.config = c.hex();
  f.code = hash_of_file("/proc/self/exe");
  Fnv d;
  add_file_sizes(config, d);
  f.data = d.hex();
  return f;
}

struct Distributed::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::Collectives> collectives;
};

struct Distributed::Pending::Work {
  c10::intrusive_ptr<c10d::Work> work;
  std::string operation;
};

Distributed::Distributed(Rendezvous where, DistributedOptions options)
    : where_(std::move(where)), options_(options), group_(std::make_unique<Group>()) {}

Distributed::~Distributed() {
  stop_heartbeat_ = true;
  if (heartbeat_.joinable()) heartbeat_.join();
}

std::shared_ptr<Distributed> Distributed::connect(const Rendezvous& where, const Fingerprint& fingerprint,
                                                  const DistributedOptions& options) {
  const bool cuda = options.device.is_cuda();
  if (cuda && !compat::kHasNccl) fail("device", "this build of attune has no NCCL (LibTorch without USE_C10D_NCCL); use device=cpu for Gloo");
  if (!cuda && !compat::kHasGloo) fail(where.launcher, "this build of attune has no Gloo (its headers were not found at build time)");
  std::shared_ptr<Distributed> d(new Distributed(where, options));
  Group& g = *d->group_;
  const std::string master = where.master_addr + ":" + std::to_string(where.master_port);
  const std::string me = "rank " + std::to_string(where.rank);
  try {
    g.store = compat::tcp_store(where.master_addr, where.master_port, where.rank == 0, options.timeout);
  } catch (const std::exception& e) {
    if (where.rank == 0) fail("MASTER_PORT", me + " cannot serve the rendezvous on " + master + ": " + first_line(e.what()));
    fail("MASTER_ADDR", me + " cannot reach the rendezvous at " + master + " within " + seconds(options.timeout) + ": " +
                            first_line(e.what()));
  }
  d->start_heartbeat();

  // Two processes given the same rank would train the same shard twice.
  if (g.store->add("attune/joined/" + std::to_string(where.rank), 1) != 1) {
    fail("RANK", "two processes joined the rendezvous at " + master + " as rank " + std::to_string(where.rank));
  }
  nlohmann::json mine = fingerprint.to_json();
  mine["world_size"] = where.world_size;
  g.store->set("attune/fingerprint/" + std::to_string(where.rank), bytes(mine.dump()));
  if (where.rank == 0) {
    std::string verdict = "ok";
    for (int r = 1; r < where.world_size && verdict == "ok"; ++r) {
      nlohmann::json theirs;
      try {
        theirs = nlohmann::json::parse(text(g.store->get("attune/fingerprint/" + std::to_string(r))));
      } catch (const std::exception&) {
        g.store->set("attune/verdict", bytes("rank " + std::to_string(r) + " did not join"));
        fail("rank " + std::to_string(r), "did not join the rendezvous at " + master + " within " + seconds(options.timeout));
      }
      for (const char* part : {"world_size", "config", "code", "data"}) {
        if (theirs[part] != mine[part]) {
          const std::string what = std::string(part) == "code" ? "attune executable" : std::string(part) == "data" ? "data files" : part;
          verdict = "rank " + std::to_string(r) + "'s " + what + " differs from rank 0's (" + theirs[part].dump() +
                    " vs " + mine[part].dump() + "); every rank must start the same run";
          break;
        }
      }
    }
    g.store->set("attune/verdict", bytes(verdict));
    if (verdict != "ok") {
      // The store dies with this process: let the others read why first (a few seconds at most).
      const auto until = std::chrono::steady_clock::now() + std::min<std::chrono::milliseconds>(options.timeout, std::chrono::seconds(5));
      while (g.store->add("attune/verdict_read", 0) < where.world_size - 1 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      fail("rendezvous", verdict);
    }
  } else {
    std::string verdict;
    try {
      verdict = text(g.store->get("attune/verdict"));
    } catch (const std::exception&) {
      fail("rank 0", "did not finish the rendezvous at " + master + " within " + seconds(options.timeout));
    }
    g.store->add("attune/verdict_read", 1);
    if (verdict != "ok") fail("rendezvous", verdict);
  }

  // The process group keeps its own keys apart from attune's.
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("attune/pg", g.store);
  try {
    if (cuda) {
      g.collectives = compat::nccl_group(prefixed, where.rank, where.world_size, options.timeout, options.device);
    } else {
      const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
      g.collectives = compat::gloo_group(prefixed, where.rank, where.world_size, options.timeout, interface ? interface : "");
    }
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    d->lost("connecting the process group", e.what());
  }
  return d;
}

void Distributed::start_heartbeat() {
  heartbeat_ = std::thread([this] {
    try {
      // Its own connection: the main one may be blocked in a long get().
      auto store = compat::tcp_store(where_.master_addr, where_.master_port, false, options_.timeout);
      while (!stop_heartbeat_) {
        store->add(beat_key(where_.rank), 1);
        for (int i = 0; i < 4 && !stop_heartbeat_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    } catch (const std::exception&) {
      // The store's host (rank 0) is gone; the next collective reports it.
    }
  });
}

void Distributed::guarded(const std::string& operation, const std::function<void()>& collective) {
  try {
    collective();
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    lost(operation, e.what());
  }
}

void Distributed::lost(const std::string& operation, const std::string& detail) {
  std::string cause;
  try {
    auto store = compat::tcp_store(where_.master_addr, where_.master_port, false, std::chrono::seconds(3));
    std::vector<int64_t> before;
    for (int r = 0; r < world_size(); ++r) before.push_back(store->add(beat_key(r), 0));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    std::string silent;
    for (int r = 0; r < world_size(); ++r) {
      if (r != rank() && store->add(beat_key(r), 0) == before[r]) silent += (silent.empty() ? "" : ", ") + std::to_string(r);
    }
    cause = silent.empty() ? "every rank is alive, so one hangs or the network dropped"
                           : (silent.find(',') == std::string::npos ? "rank " : "ranks ") + silent + " stopped";
  } catch (const std::exception&) {
    cause = "rank 0 stopped (it serves the rendezvous store, which is gone)";
  }
  // The process group's threads may still wait on the lost peer; leaking it lets this
  // process exit now instead of in its destructor.
  if (group_->collectives) group_->collectives.release();
  fail("rank " + std::to_string(rank()), operation + " failed: " + cause + " (" + first_line(detail) + ")");
}

namespace {

void wait_for(const c10::intrusive_ptr<c10d::Work>& work, std::chrono::milliseconds timeout) {
  if (!work->wait(timeout)) TORCH_CHECK(false, "timed out after ", timeout.count(), " ms");
}

}  // namespace

void Distributed::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  c10d::BroadcastOptions o;
  o.rootRank = root;
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one = {t};
    guarded("broadcast", [&] { wait_for(group_->collectives->broadcast(one, o), options_.timeout); });
  }
}

void Distributed::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  std::vector<std::unique_ptr<Pending>> pending;
  for (auto& t : tensors) pending.push_back(all_reduce_sum_async(t));
  for (auto& p : pending) p->wait();
}

std::unique_ptr<Distributed::Pending> Distributed::all_reduce_sum_async(torch::Tensor& flat) {
  auto work = std::make_unique<Pending::Work>();
  std::vector<torch::Tensor> one = {flat};
  try {
    work->work = group_->collectives->allreduce(one, c10d::AllreduceOptions());
  } catch (const std::exception& e) {
    lost("all-reduce", e.what());
  }
  return std::unique_ptr<Pending>(new Pending(*this, std::move(work)));
}

Distributed::Pending::Pending(Distributed& owner, std::unique_ptr<Work> work) : owner_(owner), work_(std::move(work)) {}

Distributed::Pending::~Pending() = default;

void Distributed::Pending::wait() {
  owner_.guarded("all-reduce", [&] {
    // ProcessGroupNCCL's wait with a timeout blocks the host until the sum is done, which
    // would drain the queue of kernels launched ahead at every bucket of every step.
    // Without one it only orders the current stream after the sum, as DDP waits; NCCL's
    // watchdog, created with the same timeout, ends a collective that hangs.
    if (owner_.options_.device.is_cuda()) {
      work_->work->wait();
    } else {
      wait_for(work_->work, owner_.options_.timeout);
    }
  });
}

std::string Distributed::broadcast_string(const std::string& message, int root) {
  const auto on_device = [&](torch::Tensor t) { return t.to(options_.device); };
  std::vector<torch::Tensor> length = {on_device(torch::tensor({static_cast<int64_t>(message.size())}, torch::kLong))};
  broadcast(length, root);
  const int64_t n = length[0].cpu().item<int64_t>();
  torch::Tensor data = torch::zeros({n}, torch::kUInt8);
  if (rank() == root) std::memcpy(data.data_ptr<uint8_t>(), message.data(), message.size());
  std::vector<torch::Tensor> payload = {on_device(data)};
  broadcast(payload, root);
  const torch::Tensor back = payload[0].cpu().contiguous();
  return std::string(reinterpret_cast<const char*>(back.data_ptr<uint8_t>()), static_cast<size_t>(n));
}

bool Distributed::any(bool flag) {
  std::vector<torch::Tensor> t = {torch::tensor({flag ? 1.0f : 0.0f}).to(options_.device)};
  all_reduce_sum(t);
  return t[0].cpu().item<float>() > 0.0f;
}

std::vector<double> Distributed::gather_numbers(double value) {
  torch::Tensor slots = torch::zeros({world_size()}, torch::kDouble);
  slots[rank()] = value;
  std::vector<torch::Tensor> t = {slots.to(options_.device)};
  all_reduce_sum(t);
  const torch::Tensor back = t[0].cpu();
  return {back.data_ptr<double>(), back.data_ptr<double>() + world_size()};
}

void Distributed::send(torch::Tensor& tensor, int to) {
  std::vector<torch::Tensor> one = {tensor};
  guarded("send to rank " + std::to_string(to),
          [&] { wait_for(group_->collectives->send(one, to, /*tag=*/0), options_.timeout); });
}

void Distributed::recv(torch::Tensor& tensor, int from) {
  std::vector<torch::Tensor> one = {tensor};
  guarded("receive from rank " + std::to_string(from),
          [&] { wait_for(group_->collectives->recv(one, from, /*tag=*/0), options_.timeout); });
}

void Distributed::barrier() {
  guarded("barrier", [&] { wait_for(group_->collectives->barrier(c10d::BarrierOptions()), options_.timeout); });
}

bool has_gloo() { return compat::kHasGloo; }

std::shared_ptr<Distributed> join_from_environment(nlohmann::json& config, std::chrono::milliseconds timeout) {
  const std::optional<Rendezvous> where = rendezvous_from_env([](const char* name) { return std::getenv(name); });
  if (!where) return nullptr;
  DistributedOptions options;
  options.timeout = timeout;
  options.device = resolve_device(config.value("device", "auto"), "device");
  // One GPU per worker on its node.
  if (options.device.is_cuda()) {
    options.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(where->local_rank));
    config["device"] = options.device.str();
  }
  return Distributed::connect(*where, fingerprint_of(config), options);
}

}  // namespace attune::engine
