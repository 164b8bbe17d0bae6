// The parts of a run config that every task shares: seed, device, threads, run
// directory and the "train" section that drives the engine.
#pragma once
#include "tasks/engine/trainer.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace attune::engine {

// How `attune train` was asked to run, beside the config.
struct TrainFlags {
  bool resume = false;
  bool overwrite = false;
  std::function<bool(int64_t global_step)> stop_requested;
  std::ostream* log = nullptr;
  // This process's data-parallel group (join_from_environment); null when it runs alone.
  std::shared_ptr<Distributed> distributed;
};

// Defaults of the shared top-level keys and of the "train" section.
nlohmann::json default_run_keys();
nlohmann::json default_train_section();

// "auto" picks CUDA when LibTorch sees a GPU. Fails naming `key` for unknown or
// unavailable devices.
torch::Device resolve_device(const std::string& name, const std::string& key);

// Sets LibTorch's intra-op threads (0 = one per core).
void apply_threads(int64_t threads);

// Reads and validates the "train" section and the shared keys.
TrainOptions train_options_from_config(const nlohmann::json& config);


// The engine options of a run config with the CLI's flags (stop requests, log); the
// config's thread count takes effect.
TrainOptions train_options_for(const nlohmann::json& config, const TrainFlags& flags);
// The device a loaded run runs on: the --device flag, or the run's own when the flag is empty.
torch::Device run_device(const nlohmann::json& config, const std::string& device_flag);

}  // namespace attune::engine
