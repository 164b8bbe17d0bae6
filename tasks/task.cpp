#include "tasks/task.h"

#include "core/error.h"

namespace attune::tasks {

nlohmann::json Task::merge(const RunRequest& run, const std::string&) const {
  fail(run.run_dir, "task '" + name() + "' has no PEFT adapters to merge");
}

nlohmann::json Task::export_bundle(const std::string& run_dir, const std::string&, bool, Precision, bool) const {
  fail(run_dir, "task '" + name() + "' cannot be exported yet");
}

void Task::predict_bundle(const std::string& bundle_dir, const std::string&, PredictStreams&) const {
  fail(bundle_dir, "task '" + name() + "' has no bundle predictor");
}

serving::Predictor Task::serve_bundle(const std::string& bundle_dir, const std::string&, int64_t) const {
  fail(bundle_dir, "task '" + name() + "' cannot be served yet");
}

serving::AdapterPredictor Task::serve_adapters(const std::string& bundle_dir, const std::string&) const {
  fail("--adapter", "serving adapters is implemented for text-classification bundles; " + bundle_dir +
                        " is a '" + name() + "' bundle");
}

nlohmann::json Task::explain(const RunRequest& run, const ExplainRequest&) const {
  fail(run.run_dir, "attune explain reads text- and image-classification runs; this run's task is '" + name() + "'");
}

nlohmann::json Task::bench(const nlohmann::json&, const BenchOptions&) const {
  fail("task", "attune bench measures text-classification configs, not '" + name() + "'");
}

void refuse_precision_and_adapter_base(Precision precision, bool adapter_base) {
  if (precision == Precision::kInt8Dynamic) {
    fail("--int8", "int8 bundles are made for text-classification, image-classification and translation runs");
  }
  refuse_bf16(precision);
  if (adapter_base) fail("--adapter-base", "serving adapters is implemented for text-classification runs only");
}

void refuse_bf16(Precision precision) {
  if (precision == Precision::kBFloat16) fail("--bf16", "bfloat16 bundles are made for text-classification runs");
}

}  // namespace attune::tasks
