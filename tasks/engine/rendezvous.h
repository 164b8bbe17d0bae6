// Where a data-parallel worker finds its group, read from the environment its launcher
// set: torchrun (and Kubernetes' PyTorchJob, and `attune train --nproc-per-node`) set
// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; Slurm's srun sets
// SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID and the job's node list.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace attune::engine {

struct Rendezvous {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;  // workers on this host: threads per worker are cores / this
  std::string master_addr;
  uint16_t master_port = 0;
  std::string launcher;  // "torchrun" or "slurm", for messages
};

// Reads one environment variable; null when unset. std::getenv in production.
using EnvLookup = std::function<const char*(const char*)>;

// The rendezvous of this process, or nothing when it runs alone (no WORLD_SIZE, and no
// Slurm job step of more than one task). torchrun's variables win over Slurm's, so
// torchrun inside an allocation works. Under Slurm, MASTER_ADDR defaults to the first
// host of SLURM_JOB_NODELIST and MASTER_PORT to 15000 + SLURM_JOB_ID % 20000 (so that two
// jobs sharing a node differ). Bad values fail naming the variable.
std::optional<Rendezvous> rendezvous_from_env(const EnvLookup& env);

// Slurm's compressed host list ("gpu[01-03,07],login1") in order, expanded
// ("gpu01", "gpu02", "gpu03", "gpu07", "login1"); zero padding is kept.
std::vector<std::string> expand_hostlist(const std::string& list);

}  // namespace attune::engine
