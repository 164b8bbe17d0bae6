#include "tasks/pretraining/registration.h"

#include "tasks/pretraining/export.h"
#include "tasks/pretraining/task.h"

namespace attune::pretraining {
namespace {

class MaskedLanguageModel : public tasks::Task {
 public:
  std::string name() const override { return "mlm"; }
  std::string description() const override {
    return "masked-language-model pretraining on plain text, of a BERT encoder from scratch or continuing a Hugging "
           "Face masked LM (init=hf:DIR); an init for fine-tuning";
  }
  nlohmann::json default_config() const override { return pretraining::default_config(); }
  std::vector<std::string> config_help() const override { return pretraining::config_help(); }
  void check(const nlohmann::json& config) const override { check_run_config(config); }
  engine::Prepared prepare(engine::Run& run) const override { return prepare_run(run); }

  nlohmann::json evaluate(const tasks::RunRequest& run, const std::string& data_path) const override {
    return evaluate_run(run.run_dir, data_path, run.overrides, run.device);
  }
  void predict(const tasks::RunRequest& run, tasks::PredictStreams& io) const override {
    predict_run(run.run_dir, io.in, io.input_name, io.out, run.device, io.batch_size);
  }
  bool exports() const override { return true; }
  nlohmann::json export_bundle(const std::string& run_dir, const std::string& out_dir, bool overwrite,
                               tasks::Precision precision, bool adapter_base) const override {
    tasks::refuse_precision_and_adapter_base(precision, adapter_base);
    return export_run(run_dir, out_dir, overwrite);
  }
  void predict_bundle(const std::string& bundle_dir, const std::string& device, tasks::PredictStreams& io) const override {
    pretraining::predict_bundle(bundle_dir, io.in, io.input_name, io.out, device);
  }
  serving::Predictor serve_bundle(const std::string& bundle_dir, const std::string& device, int64_t) const override {
    return bundle_predictor(bundle_dir, device);
  }
};

}  // namespace

std::unique_ptr<tasks::Task> make_task() { return std::make_unique<MaskedLanguageModel>(); }

}  // namespace attune::pretraining
