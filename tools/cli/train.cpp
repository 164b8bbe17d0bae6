#include "core/error.h"
#include "core/files.h"
#include "tasks/engine/distributed.h"
#include "tasks/engine/launch.h"
#include "tasks/engine/settings.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <iostream>

namespace attune::cli {
namespace {

std::atomic<bool> g_interrupted{false};

// The first Ctrl-C asks the loop to checkpoint and stop; a second one kills at once.
void on_interrupt(int) {
  g_interrupted = true;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

std::vector<std::string> take_overrides(Args& args) {
  std::vector<std::string> overrides;
  Args kept;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--set") {
      if (i + 1 >= args.size()) fail("--set", "expected key=value after --set");
      overrides.push_back(args[++i]);
    } else if (args[i].rfind("--set=", 0) == 0) {
      overrides.push_back(args[i].substr(6));
    } else {
      kept.push_back(args[i]);
    }
  }
  args = kept;
  return overrides;
}

namespace {

// The launcher's own flags: its workers get every other argument as given.
const std::vector<std::string> kLauncherFlags = {"--nproc-per-node", "--nnodes", "--node-rank", "--master-addr",
                                                 "--master-port"};

Args worker_args(const Args& raw) {
  Args kept;
  for (size_t i = 0; i < raw.size(); ++i) {
    bool dropped = false;
    for (const auto& flag : kLauncherFlags) {
      if (raw[i] == flag) {
        ++i;  // and its value
        dropped = true;
      } else if (raw[i].rfind(flag + "=", 0) == 0) {
        dropped = true;
      }
      if (dropped) break;
    }
    if (!dropped) kept.push_back(raw[i]);
  }
  return kept;
}


// `attune train` and `attune pretrain` differ only in their default task (and pretrain
// runs nothing but the mlm task).
int run_training(const Args& raw_args, const std::string& default_task, bool task_fixed) {
  Args args = raw_args;
  std::vector<std::string> overrides = take_overrides(args);
  const std::string command = "attune " + args[0];
  cxxopts::Options options(command, task_fixed ? "Masked-LM pretraining on plain text (task " + default_task +
                                                     "): a BERT encoder and tokenizer from scratch, or --set init=hf:DIR to "
                                                     "continue a transformers *ForMaskedLM folder (BERT, RoBERTa, DistilBERT, "
                                                     "ModernBERT, DeBERTa, ...) with its tokenizer; the JSON config fully "
                                                     "describes the run."
                                               : "Train a model; the JSON config fully describes the run.");
  options.add_options()
      ("c,config", "Run config (JSON); keys not given take the task's defaults (see `attune config --task " + default_task + "`)", cxxopts::value<std::string>());
  if (!task_fixed) {
    options.add_options()
        ("task", "Task whose defaults apply when --config does not name one", cxxopts::value<std::string>()->default_value(default_task))
        ("init", "Same as --set init=DIR: start from the encoder and tokenizer of a run (e.g. attune pretrain's)", cxxopts::value<std::string>());
  }
  options.add_options()
      ("set", "Override a config key: --set train.lr=3e-4 (repeatable; dotted paths)", cxxopts::value<std::string>())
      ("run-dir", "Same as --set run_dir=DIR", cxxopts::value<std::string>())
      ("device", "Same as --set device=D (auto, cpu, cuda, cuda:N)", cxxopts::value<std::string>())
      ("resume", "Continue the interrupted run in DIR with its saved config", cxxopts::value<std::string>())
      ("overwrite", "Replace an existing run in the run directory", cxxopts::value<bool>()->default_value("false"))
      ("nproc-per-node", "Data-parallel: start N workers on this node (as torchrun does; see docs/distributed.md)", cxxopts::value<int>())
      ("nnodes", "Data-parallel: nodes taking part, each running this command with its --node-rank", cxxopts::value<int>()->default_value("1"))
      ("node-rank", "Data-parallel: this node's index, 0 on the node of --master-addr", cxxopts::value<int>()->default_value("0"))
      ("master-addr", "Data-parallel: address of node 0, where rank 0 serves the rendezvous", cxxopts::value<std::string>()->default_value("127.0.0.1"))
      ("master-port", "Data-parallel: rendezvous port (default: a free one; required with --nnodes > 1)", cxxopts::value<int>()->default_value("0"))
      ("dist-timeout", "Data-parallel: seconds before a missing or stalled rank stops the others (default 300, or ATTUNE_DIST_TIMEOUT)", cxxopts::value<double>());
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;

  nlohmann::json config;
  engine::TrainFlags flags;
  if (parsed.count("resume")) {
    if (parsed.count("config") || !overrides.empty() || parsed.count("run-dir") || (!task_fixed && parsed.count("init"))) {
      fail("--resume", "a resumed run keeps its saved config; only --device may be given");
    }
    const std::string dir = parsed["resume"].as<std::string>();
    const engine::RunDir run_dir(dir);
    run_dir.require();
    config = io::read_json(run_dir.config());
    config["run_dir"] = dir;
    flags.resume = true;
  } else {
    std::string source;
    const nlohmann::json user = read_config_option(parsed, source);
    const std::string given = task_fixed ? default_task : parsed["task"].as<std::string>();
    const std::string task = user.contains("task") && user["task"].is_string() ? user["task"].get<std::string>() : given;
    if (task_fixed && task != default_task) {
      fail(source + ": task", command + " runs the " + default_task + " task, not '" + task + "' (use attune train)");
    }
    if (parsed.count("run-dir")) overrides.push_back("run_dir=" + parsed["run-dir"].as<std::string>());
    if (!task_fixed && parsed.count("init")) overrides.push_back("init=" + parsed["init"].as<std::string>());
    config = tasks::train_config(user, source, task, overrides);
  }
  if (parsed.count("device")) config["device"] = parsed["device"].as<std::string>();
  flags.overwrite = parsed["overwrite"].as<bool>();
  flags.stop_requested = [](int64_t) { return g_interrupted.load(); };

  if (parsed.count("nproc-per-node")) {
    if (std::getenv("WORLD_SIZE")) {
      fail("--nproc-per-node", "WORLD_SIZE is set: a launcher (torchrun?) already started this process; drop --nproc-per-node");
    }
    engine::LaunchOptions launch;
    launch.nproc_per_node = parsed["nproc-per-node"].as<int>();
    launch.nnodes = parsed["nnodes"].as<int>();
    launch.node_rank = parsed["node-rank"].as<int>();
    launch.master_addr = parsed["master-addr"].as<std::string>();
    launch.master_port = parsed["master-port"].as<int>();
    launch.args = worker_args(raw_args);
    return engine::launch_workers(launch);
  }
  for (const auto& flag : kLauncherFlags) {
    if (flag != "--nproc-per-node" && parsed.count(flag.substr(2))) {
      fail(flag, "only with --nproc-per-node");
    }
  }
  static std::ostream discard(nullptr);
  flags.distributed = engine::join_from_environment(config, dist_timeout(parsed));
  if (flags.distributed && !flags.distributed->is_main()) flags.log = &discard;
  const bool main_rank = !flags.distributed || flags.distributed->is_main();

  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const nlohmann::json summary = tasks::train(config, flags);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!main_rank) return summary.value("interrupted", false) ? 130 : 0;
  std::cout << summary.dump(2) << std::endl;
  for (const char* split : {"valid", "test"}) {
    if (!summary.contains(split) || !summary[split].contains("accuracy")) continue;
    const nlohmann::json& m = summary[split];
    std::cerr << split << ": accuracy " << m["accuracy"].get<double>() << ", macro-F1 " << m["macro_f1"].get<double>();
    for (const auto& [label, c] : m["per_class"].items()) std::cerr << ", " << label << " F1 " << c["f1"].get<double>();
    std::cerr << " (" << m["examples"] << " examples)\n";
  }
  if (summary.contains("valid") && summary["valid"].contains("masked_accuracy")) {
    const nlohmann::json& m = summary["valid"];
    std::cerr << "valid: masked accuracy " << m["masked_accuracy"].get<double>() << ", perplexity "
              << m["perplexity"].get<double>() << " (" << m["masked_tokens"] << " masked tokens)\n";
  }
  if (summary.contains("report")) std::cerr << "report: " << summary["report"].get<std::string>() << "\n";
  if (summary.value("interrupted", false)) {
    std::cerr << "interrupted at step " << summary.value("steps", 0) << "; checkpoint saved. Continue with: " << command << " --resume "
              << config.value("run_dir", "")
              << (flags.distributed ? " (under the same launcher, with as many ranks)" : "") << "\n";
    return 130;
  }
  return 0;
}

}  // namespace

int train_command(const Args& args) { return run_training(args, "text-classification", false); }
int pretrain_command(const Args& args) { return run_training(args, "mlm", true); }

}  // namespace attune::cli
