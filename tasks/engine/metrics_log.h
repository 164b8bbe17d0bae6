// The run's log of training and evaluation numbers: metrics.jsonl, one JSON line per
// logged step and evaluation, and (train.tensorboard) the same numbers as TensorBoard
// scalars in events.out.tfevents.attune, tagged "<split>/<key>" (nested objects joined
// with '/': valid/per_class/spam/f1). Both are cut back to a checkpoint's step on
// --resume, so a resumed run's files are those of an uninterrupted one.
#pragma once
#include "tasks/engine/run_dir.h"

#include <nlohmann/json.hpp>

#include <string>

namespace attune::engine {

class MetricsLog {
 public:
  MetricsLog(const RunDir& run, bool tensorboard);

  // A new run: both files start empty (the events file with its version record).
  void start();
  // A resumed run: drops what was logged after `step` (and a torn last line or record).
  void resume_after(int64_t step);
  // One line, with its step, split and numbers.
  void append(const nlohmann::json& line);

  const std::string& jsonl_path() const { return jsonl_; }
  const std::string& events_path() const { return events_; }

 private:
  std::string jsonl_, events_;
  bool tensorboard_;
};

// The file name TensorBoard finds in a run directory (it looks for "tfevents").
inline constexpr const char* kEventsFile = "events.out.tfevents.attune";

}  // namespace attune::engine
