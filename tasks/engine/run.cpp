#include "tasks/engine/run.h"

#include "core/files.h"
#include "core/log.h"

namespace attune::engine {

Run::Run(nlohmann::json config, const TrainFlags& flags)
    : config_(std::move(config)),
      flags_(flags),
      options_(train_options_for(config_, flags_)),
      dir_(options_.run_dir) {}

std::ostream& Run::log() const { return flags_.log ? *flags_.log : log::out(); }

void Run::save_config() const { io::write_json_atomic(dir_.config(), config_); }

nlohmann::json Run::execute(const Recipe& recipe) {
  recipe.check(config_);
  std::string replaced;
  if (resuming()) {
    dir_.require();
  } else {
    replaced = dir_.prepare_fresh(flags_.overwrite);
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
    const TrainResult result = train(*prepared.trainer, options_, resuming());
    summary["steps"] = result.global_step;
    summary["best_step"] = result.best_step;
    summary["interrupted"] = result.interrupted;
    summary["valid"] = result.best_metrics;
    if (result.interrupted) return summary;
    if (prepared.finish) prepared.trainer->load_best(dir_.path());
  }
  if (prepared.finish) prepared.finish(summary);
  io::write_json_atomic(dir_.results(), summary);
  return summary;
}

}  // namespace attune::engine
