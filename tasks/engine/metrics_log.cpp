#include "tasks/engine/metrics_log.h"

#include "core/files.h"
#include "data/formats/tfevents.h"

#include <chrono>
#include <filesystem>

namespace fs = std::filesystem;

namespace attune::engine {
namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Every number of a line, nested keys joined with '/'; the step is the event's own.
void collect(const nlohmann::json& value, const std::string& tag, formats::Scalars& out) {
  if (value.is_number()) {
    out.emplace_back(tag, value.get<float>());
  } else if (value.is_object()) {
    for (const auto& [key, child] : value.items()) collect(child, tag + "/" + key, out);
  }
}

void start_events(const std::string& path) {
  io::append_bytes(path, formats::tf_record(formats::file_version_event(wall_time())));
}

}  // namespace

MetricsLog::MetricsLog(const RunDir& run, bool tensorboard)
    : jsonl_(run.metrics()), events_(run.file(kEventsFile)), tensorboard_(tensorboard) {}

void MetricsLog::start() {
  fs::remove(jsonl_);
  io::remove_tree(events_);
  if (tensorboard_) start_events(events_);
}

void MetricsLog::resume_after(int64_t step) {
  io::truncate_jsonl_after(jsonl_, [&](const nlohmann::json& line) {
    return !line.contains("step") || line["step"].get<int64_t>() <= step;
  });
  if (!tensorboard_) return;
  if (!fs::exists(events_)) {
    // Trained with train.tensorboard off until now: the events start here.
    start_events(events_);
    return;
  }
  std::string kept;
  for (const formats::TfEvent& event : formats::read_tfevents(events_, /*allow_torn_tail=*/true)) {
    if (!event.file_version.empty() || event.step <= step) kept += event.record;
  }
  io::write_file_atomic(events_, kept);
}

void MetricsLog::append(const nlohmann::json& line) {
  io::append_line(jsonl_, line.dump());
  if (!tensorboard_) return;
  formats::Scalars scalars;
  const std::string split = line.value("split", std::string("train"));
  for (const auto& [key, value] : line.items()) {
    if (key != "step" && key != "split") collect(value, split + "/" + key, scalars);
  }
  io::append_bytes(events_, formats::tf_record(formats::scalars_event(wall_time(), line.value("step", int64_t{0}), scalars)));
}

}  // namespace attune::engine
