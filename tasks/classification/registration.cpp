#include "tasks/classification/registration.h"

#include "core/error.h"
#include "core/files.h"
#include "tasks/classification/adapter_serving.h"
#include "tasks/classification/explain.h"
#include "tasks/classification/export.h"
#include "tasks/classification/speed.h"
#include "tasks/classification/task.h"

namespace attune::classification {
namespace {

class TextClassification : public tasks::Task {
 public:
  std::string name() const override { return "text-classification"; }
  std::string description() const override { return "sequence (or sequence-pair) classification of text"; }
  nlohmann::json default_config() const override { return classification::default_config(); }
  std::vector<std::string> config_help() const override { return classification::config_help(); }
  void check(const nlohmann::json& config) const override { check_run_config(config); }
  engine::Prepared prepare(engine::Run& run) const override { return prepare_run(run); }

  nlohmann::json evaluate(const tasks::RunRequest& run, const std::string& data_path) const override {
    return evaluate_run(run.run_dir, data_path, run.overrides, run.device, run.adapters);
  }
  void predict(const tasks::RunRequest& run, tasks::PredictStreams& io) const override {
    predict_run(run.run_dir, io.in, io.input_name, io.out, run.device, io.batch_size, run.adapters);
  }
  bool has_adapters() const override { return true; }
  nlohmann::json merge(const tasks::RunRequest& run, const std::string& out_dir) const override {
    return merge_run(run.run_dir, out_dir, run.adapters);
  }
  bool exports() const override { return true; }
  nlohmann::json export_bundle(const std::string& run_dir, const std::string& out_dir, bool overwrite,
                               tasks::Precision precision, bool adapter_base) const override {
    return export_run(run_dir, out_dir, overwrite, precision, adapter_base);
  }
  void predict_bundle(const std::string& bundle_dir, const std::string& device, tasks::PredictStreams& io) const override {
    classification::predict_bundle(bundle_dir, io.in, io.input_name, io.out, device, io.batch_size);
  }
  serving::Predictor serve_bundle(const std::string& bundle_dir, const std::string& device,
                                  int64_t batch_size) const override {
    return bundle_predictor(bundle_dir, device, batch_size);
  }
  serving::AdapterPredictor serve_adapters(const std::string& bundle_dir, const std::string& device) const override {
    return adapter_predictor(bundle_dir, device);
  }
  nlohmann::json explain(const tasks::RunRequest& run, const tasks::ExplainRequest& request) const override {
    if (!request.png_path.empty()) fail("--png", "is for image runs; text runs write --html");
    const nlohmann::json e = explain_text(run.run_dir, request.input, request.layer, run.device);
    if (!request.html_path.empty()) io::write_file_atomic(request.html_path, explanation_html(e));
    return e;
  }
  nlohmann::json bench(const nlohmann::json& config, const tasks::BenchOptions& options) const override {
    return speed_bench(config, options);
  }
};

}  // namespace

std::unique_ptr<tasks::Task> make_task() { return std::make_unique<TextClassification>(); }

}  // namespace attune::classification
