#include "tasks/engine/settings.h"

#include "core/error.h"
#include "core/files.h"
#include "core/config.h"

#include <filesystem>
#include <limits>
#include <thread>

namespace fs = std::filesystem;

namespace attune::engine {

nlohmann::json default_run_keys() {
  return {{"run_dir", "runs/latest"}, {"seed", 42}, {"device", "auto"}, {"threads", 0}};
}

nlohmann::json default_train_section() {
  return {{"epochs", 3},
          {"max_steps", 0},
          {"batch_size", 32},
          {"eval_batch_size", 64},
          {"grad_accum", 1},
          {"lr", 5e-4},
          {"weight_decay", 0.01},
          {"warmup_ratio", 0.1},
          {"warmup_steps", 0},
          {"schedule", "linear"},
          {"adam_beta1", 0.9},
          {"adam_beta2", 0.999},
          {"adam_eps", 1e-8},
          {"max_grad_norm", 1.0},
          {"bucket_by_length", true},
          {"log_every", 20},
          {"eval_every", 0},
          {"checkpoint_every", 200},
          {"early_stopping_patience", 0},
          {"selection_metric", "macro_f1"},
          {"bf16", true},
          {"cuda_graphs", false}};
}

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
  using namespace attune::config;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const nlohmann::json& t = at_path(config, "train");
  TrainOptions o;
  o.run_dir = get_string(config, "run_dir", "");
  o.seed = static_cast<uint64_t>(get_int(config, "seed", "", 0, kMax));
  o.device = resolve_device(get_string(config, "device", ""), "device");
  o.epochs = get_int(t, "epochs", "train", 1, 100000);
  o.max_steps = get_int(t, "max_steps", "train", 0, kMax);
  o.grad_accum = get_int(t, "grad_accum", "train", 1, 4096);
  o.optimizer.lr = get_double(t, "lr", "train", 0.0, 10.0);
  o.optimizer.weight_decay = get_double(t, "weight_decay", "train", 0.0, 10.0);
  o.optimizer.beta1 = get_double(t, "adam_beta1", "train", 0.0, 0.999999);
  o.optimizer.beta2 = get_double(t, "adam_beta2", "train", 0.0, 0.999999);
  o.optimizer.eps = get_double(t, "adam_eps", "train", 0.0, 1.0);
  o.warmup_ratio = get_double(t, "warmup_ratio", "train", 0.0, 1.0);
  // Configs saved before these keys existed still resume with their old behaviour.
  if (t.contains("warmup_steps")) o.warmup_steps = get_int(t, "warmup_steps", "train", 0, kMax);
  if (t.contains("schedule")) o.schedule = parse_schedule(get_string(t, "schedule", "train"), "train.schedule");
  o.max_grad_norm = get_double(t, "max_grad_norm", "train", 0.0, 1e9);
  o.log_every = get_int(t, "log_every", "train", 1, kMax);
  o.eval_every = get_int(t, "eval_every", "train", 0, kMax);
  o.checkpoint_every = get_int(t, "checkpoint_every", "train", 0, kMax);
  o.early_stopping_patience = get_int(t, "early_stopping_patience", "train", 0, kMax);
  o.selection_metric = get_string(t, "selection_metric", "train");
  // Losses and perplexities are minimised; everything else (accuracy, F1, ...) maximised.
  o.higher_is_better = o.selection_metric.find("loss") == std::string::npos &&
                       o.selection_metric.find("perplexity") == std::string::npos;
  o.bf16 = get_bool(t, "bf16", "train");
  if (t.contains("cuda_graphs")) o.cuda_graphs = get_bool(t, "cuda_graphs", "train");
  return o;
}

TrainOptions train_options_for(const nlohmann::json& config, const TrainFlags& flags) {
  TrainOptions options = train_options_from_config(config);
  options.stop_requested = flags.stop_requested;
  options.log = flags.log;
  apply_threads(config::get_int(config, "threads", "", 0, 1024));
  return options;
}

torch::Device run_device(const nlohmann::json& config, const std::string& device_flag) {
  return resolve_device(device_flag.empty() ? config.value("device", "auto") : device_flag, "--device");
}

}  // namespace attune::engine
