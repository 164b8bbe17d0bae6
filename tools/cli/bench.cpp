#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "models/common/fusion.h"
#include "tasks/classification/speed.h"
#include "tasks/engine/distributed.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <iostream>

namespace attune::cli {

int bench_command(const Args& raw_args) {
  Args args = raw_args;
  const std::vector<std::string> overrides = take_overrides(args);
  const std::string fused_names = config::join(models::fusion_names());
  cxxopts::Options options(
      "attune bench",
      "Speed of a text-classification run config's model on synthetic full-length batches, through the code "
      "`attune train` runs (train: optimizer steps, bf16 autocast on CUDA) or a service runs (infer: eval-mode "
      "forward and the exported TorchScript; throughput at --batch-size, latency at batch 1); matmul: the "
      "device's bf16 matrix-multiply rate. Prints one JSON record (tools/bench/speed_bench.sh compares it with "
      "Hugging Face Transformers + PEFT).");
  options.add_options()
      ("c,config", "Run config (JSON); keys not given take text-classification's defaults", cxxopts::value<std::string>())
      ("set", "Override a config key: --set peft.method=lora (repeatable)", cxxopts::value<std::string>())
      ("device", "Same as --set device=D", cxxopts::value<std::string>())
      ("mode", "train, infer or matmul", cxxopts::value<std::string>()->default_value("train"))
      ("seq-len", "Tokens per sequence", cxxopts::value<int64_t>()->default_value("128"))
      ("batch-size", "Sequences per batch", cxxopts::value<int64_t>()->default_value("32"))
      ("warmup", "Untimed steps first", cxxopts::value<int64_t>()->default_value("10"))
      ("steps", "Timed steps per repeat", cxxopts::value<int64_t>()->default_value("20"))
      ("repeats", "Repeats (the spread is over them)", cxxopts::value<int64_t>()->default_value("5"))
      ("latency-runs", "infer: single-example calls timed", cxxopts::value<int64_t>()->default_value("100"))
      ("vocab-size", "Vocabulary of the synthetic tokens and the model", cxxopts::value<int64_t>()->default_value("30522"))
      ("labels", "Classes", cxxopts::value<int64_t>()->default_value("2"))
      ("matmul-size", "matmul: square matrix size", cxxopts::value<int64_t>()->default_value("8192"))
      ("masked", "Ablation: every batch carries a padding mask (one sequence a token short)",
       cxxopts::value<bool>()->default_value("false"))
      ("sync-every-step", "Ablation: read the loss back after every step", cxxopts::value<bool>()->default_value("false"))
      ("no-fused-optimizer", "Ablation: LibTorch's per-tensor AdamW step", cxxopts::value<bool>()->default_value("false"))
      ("no-cuda-graphs", "Ablation: eager steps where train.cuda_graphs asks for graphs",
       cxxopts::value<bool>()->default_value("false"))
      ("sums-outside-graphs", "Ablation, data-parallel: gradient sums after each replay, not in the graph",
       cxxopts::value<bool>()->default_value("false"))
      ("unfuse", "Ablation: take the unfused path for NAME (" + fused_names + "; repeatable)",
       cxxopts::value<std::vector<std::string>>()->default_value(""))
      ("fuse", "Take the fused path NAME where it is off by default, e.g. qkv_cpu (repeatable)",
       cxxopts::value<std::vector<std::string>>()->default_value(""))
      ("trace", "After timing, record --steps more steps (infer: eager batches) as a Chrome trace in this file "
       "(LibTorch 2.x; tools/bench/kernel_breakdown.py tabulates kernel time)", cxxopts::value<std::string>()->default_value(""))
      ("o,out", "Write the JSON record here (default: stdout)", cxxopts::value<std::string>()->default_value(""));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;

  std::string source;
  const nlohmann::json user = read_config_option(parsed, source);
  nlohmann::json config = tasks::train_config(user, source, "text-classification", overrides);
  if (parsed.count("device")) config["device"] = parsed["device"].as<std::string>();

  const std::string mode = parsed["mode"].as<std::string>();
  nlohmann::json record;
  if (mode == "matmul") {
    record = classification::matmul_rate(config.value("device", std::string("auto")), parsed["matmul-size"].as<int64_t>());
  } else {
    tasks::BenchOptions o;
    o.mode = mode;
    o.seq_len = parsed["seq-len"].as<int64_t>();
    o.batch_size = parsed["batch-size"].as<int64_t>();
    o.warmup = parsed["warmup"].as<int64_t>();
    o.steps = parsed["steps"].as<int64_t>();
    o.repeats = parsed["repeats"].as<int64_t>();
    o.latency_runs = parsed["latency-runs"].as<int64_t>();
    o.vocab_size = parsed["vocab-size"].as<int64_t>();
    o.num_labels = parsed["labels"].as<int64_t>();
    o.masked = parsed["masked"].as<bool>();
    o.sync_every_step = parsed["sync-every-step"].as<bool>();
    o.fused_optimizer = !parsed["no-fused-optimizer"].as<bool>();
    o.cuda_graphs = !parsed["no-cuda-graphs"].as<bool>();
    o.graph_collectives = !parsed["sums-outside-graphs"].as<bool>();
    o.trace = parsed["trace"].as<std::string>();
    for (const auto& [flag, on] : {std::pair{"unfuse", false}, std::pair{"fuse", true}}) {
      for (const auto& name : parsed[flag].as<std::vector<std::string>>()) {
        if (name.empty()) continue;
        models::set_fusion(name, on, std::string("--") + flag);
        (on ? o.fused : o.unfused).push_back(name);
      }
    }
    // Under torchrun (or srun): data-parallel steps, as attune train runs them.
    o.distributed = engine::join_from_environment(config, dist_timeout(parsed));
    record = tasks::task_of_config(config).bench(config, o);
    if (o.distributed && !o.distributed->is_main()) return 0;
  }
  write_output(parsed["out"].as<std::string>(), [&](std::ostream& out) { out << record.dump() << "\n"; });
  return 0;
}

}  // namespace attune::cli
