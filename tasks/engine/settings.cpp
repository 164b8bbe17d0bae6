#include "tasks/engine/settings.h"

#include "tasks/engine/train_config.h"

#include "core/error.h"
#include "core/files.h"
#include "core/config.h"

#include <filesystem>
#include <limits>
#include <thread>

namespace fs = std::filesystem;

namespace attune::engine {

nlohmann::json default_run_keys() { return config::defaults<RunKeys>(); }

nlohmann::json default_train_section() { return config::defaults<TrainConfig>(); }

torch::Device resolve_device(const std::string& name, const std::string& key) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) fail(key, "'" + name + "' requested but no CUDA device is available");
    try {
      return torch::Device(name);
    } catch (const c10::Error&) {
      fail(key, "invalid device '" + name + "'");
    }
  }
  fail(key, "unknown device '" + name + "' (known: auto, cpu, cuda, cuda:N)");
}

void apply_threads(int64_t threads) {
  // Debian's LibTorch starts with one intra-op thread; 0 means every core.
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(threads));
}

TrainOptions train_options_from_config(const nlohmann::json& config) {
  // The run keys sit beside the task's own sections; "train" may hold the task's keys too.
  const RunKeys run = run_keys(config);
  const TrainConfig t = train_section(config);
  TrainOptions o;
  o.run_dir = run.run_dir;
  o.seed = static_cast<uint64_t>(run.seed);
  o.device = resolve_device(run.device, "device");
  o.epochs = t.epochs;
  o.max_steps = t.max_steps;
  o.grad_accum = t.grad_accum;
  o.optimizer.lr = t.lr;
  o.optimizer.weight_decay = t.weight_decay;
  o.optimizer.beta1 = t.adam_beta1;
  o.optimizer.beta2 = t.adam_beta2;
  o.optimizer.eps = t.adam_eps;
  o.warmup_ratio = t.warmup_ratio;
  o.warmup_steps = t.warmup_steps;
  o.schedule = parse_schedule(t.schedule, "train.schedule");
  o.max_grad_norm = t.max_grad_norm;
  o.log_every = t.log_every;
  o.eval_every = t.eval_every;
  o.checkpoint_every = t.checkpoint_every;
  o.early_stopping_patience = t.early_stopping_patience;
  o.selection_metric = t.selection_metric;
  // Losses and perplexities are minimised; everything else (accuracy, F1, ...) maximised.
  o.higher_is_better = o.selection_metric.find("loss") == std::string::npos &&
                       o.selection_metric.find("perplexity") == std::string::npos;
  o.bf16 = t.bf16;
  o.cuda_graphs = t.cuda_graphs;
  o.zero = static_cast<int>(t.zero);
  o.skip_nonfinite = t.nonfinite == "skip";
  o.tensorboard = t.tensorboard;
  return o;
}

TrainOptions train_options_for(const nlohmann::json& config, const TrainFlags& flags) {
  TrainOptions options = train_options_from_config(config);
  options.stop_requested = flags.stop_requested;
  options.log = flags.log;
  options.distributed = flags.distributed;
  const int64_t threads = run_keys(config).threads;
  if (threads == 0 && flags.distributed) {
    // "Every core" is shared by the workers on this host.
    const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
    apply_threads(std::max<int64_t>(1, cores / flags.distributed->rendezvous().local_world_size));
  } else {
    apply_threads(threads);
  }
  return options;
}

torch::Device run_device(const nlohmann::json& config, const std::string& device_flag) {
  return resolve_device(device_flag.empty() ? config.value("device", "auto") : device_flag, "--device");
}

}  // namespace attune::engine
