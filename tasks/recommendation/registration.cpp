#include "tasks/recommendation/registration.h"

#include "tasks/recommendation/export.h"
#include "tasks/recommendation/task.h"

namespace attune::recommendation {
namespace {

class Recommendation : public tasks::Task {
 public:
  std::string name() const override { return "recommendation"; }
  std::string description() const override {
    return "next-item recommendation from user histories (sasrec, bert4rec, context; popular and item-knn baselines)";
  }
  nlohmann::json default_config() const override { return recommendation::default_config(); }
  std::vector<std::string> config_help() const override { return recommendation::config_help(); }
  void check(const nlohmann::json& config) const override { check_run_config(config); }
  engine::Prepared prepare(engine::Run& run) const override { return prepare_run(run); }

  nlohmann::json evaluate(const tasks::RunRequest& run, const std::string& data_path) const override {
    return evaluate_run(run.run_dir, data_path, run.overrides, run.device);
  }
  bool evaluates_own_split() const override { return true; }
  // Requests in, the top_k items of each out (attune recommend, attune predict).
  void predict(const tasks::RunRequest& run, tasks::PredictStreams& io) const override {
    recommend_run(run.run_dir, io.in, io.input_name, io.out, run.device, io.batch_size, io.top_k);
  }
  bool exports() const override { return true; }
  nlohmann::json export_bundle(const std::string& run_dir, const std::string& out_dir, bool overwrite,
                               tasks::Precision precision, bool adapter_base) const override {
    tasks::refuse_precision_and_adapter_base(precision, adapter_base);
    return export_run(run_dir, out_dir, overwrite);
  }
  void predict_bundle(const std::string& bundle_dir, const std::string& device, tasks::PredictStreams& io) const override {
    recommendation::predict_bundle(bundle_dir, io.in, io.input_name, io.out, device, io.batch_size, io.top_k);
  }
  serving::Predictor serve_bundle(const std::string& bundle_dir, const std::string& device,
                                  int64_t batch_size) const override {
    return bundle_predictor(bundle_dir, device, batch_size);
  }
};

}  // namespace

std::unique_ptr<tasks::Task> make_task() { return std::make_unique<Recommendation>(); }

}  // namespace attune::recommendation
