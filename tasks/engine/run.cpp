#include "tasks/engine/run.h"

#include "core/files.h"
#include "core/log.h"

#include <filesystem>
#include <unistd.h>

namespace attune::engine {

namespace {

std::string scratch_dir(const TrainFlags& flags) {
  if (!flags.distributed || flags.distributed->is_main()) return "";
  return (std::filesystem::temp_directory_path() /
          ("attune-rank" + std::to_string(flags.distributed->rank()) + "-" + std::to_string(::getpid())))
      .string();
}

}  // namespace

Run::Run(nlohmann::json config, const TrainFlags& flags)
    : config_(std::move(config)),
      flags_(flags),
      options_(train_options_for(config_, flags_)),
      scratch_(scratch_dir(flags_)),
      dir_(scratch_.empty() ? options_.run_dir : scratch_) {
  if (!scratch_.empty()) io::remove_tree(scratch_);
}

Run::~Run() {
  if (!scratch_.empty()) io::remove_tree(scratch_);
}

std::ostream& Run::log() const { return flags_.log ? *flags_.log : log::out(); }

void Run::save_config() const { io::write_json_atomic(dir_.config(), config_); }

nlohmann::json Run::execute(const Recipe& recipe) {
  recipe.check(config_);
  std::string replaced;
  if (resuming()) {
    dir_.require();
  } else {
    replaced = dir_.prepare_fresh(flags_.overwrite || !scratch_.empty());
  }
  Prepared prepared;
  try {
    prepared = recipe.prepare(*this);
  } catch (...) {
    dir_.restore_replaced(replaced);
    throw;
  }
  dir_.discard_replaced(replaced);
  nlohmann::json summary = prepared.summary;
  summary["run_dir"] = dir_.path();
  if (prepared.trainer) {
    const TrainResult result = train(*prepared.trainer, options_, flags_.resume);
    summary["steps"] = result.global_step;
    summary["best_step"] = result.best_step;
    summary["interrupted"] = result.interrupted;
    summary["valid"] = result.best_metrics;
    summary["optimizer_state_bytes"] = result.optimizer_state_bytes;
    if (result.skipped_steps > 0) summary["skipped_steps"] = result.skipped_steps;
    if (result.interrupted) return summary;
    if (flags_.distributed) {
      // Test metrics and results.json are rank 0's; the others are done once all trained.
      flags_.distributed->barrier();
      if (!flags_.distributed->is_main()) {
        summary["run_dir"] = options_.run_dir;
        summary["rank"] = flags_.distributed->rank();
        return summary;
      }
    }
    if (prepared.finish) prepared.trainer->load_best(dir_.path());
  }
  if (prepared.finish) prepared.finish(summary);
  io::write_json_atomic(dir_.results(), summary);
  return summary;
}

}  // namespace attune::engine
