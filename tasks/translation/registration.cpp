#include "tasks/translation/registration.h"

#include "core/error.h"
#include "tasks/translation/export.h"
#include "tasks/translation/peft.h"
#include "tasks/translation/task.h"

namespace attune::translation {
namespace {

class Translation : public tasks::Task {
 public:
  std::string name() const override { return "translation"; }
  std::string description() const override {
    return "Transformer encoder-decoder translation with a joint SentencePiece vocabulary, or from an OPUS-MT folder";
  }
  nlohmann::json default_config() const override { return translation::default_config(); }
  std::vector<std::string> config_help() const override { return translation::config_help(); }
  void check(const nlohmann::json& config) const override { check_run_config(config); }
  engine::Prepared prepare(engine::Run& run) const override { return prepare_run(run); }

  nlohmann::json evaluate(const tasks::RunRequest& run, const std::string& data_path) const override {
    return evaluate_run(run.run_dir, data_path, run.overrides, run.device, run.adapters);
  }
  // One translation a line; batches are cut by tokens (train.eval_max_tokens), and
  // run.overrides set the decoding (attune translate --beam: decode.beam_size).
  void predict(const tasks::RunRequest& run, tasks::PredictStreams& io) const override {
    translate_run(run.run_dir, io.in, io.out, run.device, run.overrides, run.adapters);
  }
  bool has_adapters() const override { return true; }
  nlohmann::json merge(const tasks::RunRequest& run, const std::string& out_dir) const override {
    return merge_run(run.run_dir, out_dir, run.adapters);
  }
  bool exports() const override { return true; }
  nlohmann::json export_bundle(const std::string& run_dir, const std::string& out_dir, bool overwrite,
                               tasks::Precision precision, bool adapter_base) const override {
    tasks::refuse_bf16(precision);
    if (adapter_base) fail("--adapter-base", "serving adapters is implemented for text-classification runs only");
    return export_run(run_dir, out_dir, overwrite, precision == tasks::Precision::kInt8Dynamic);
  }
  void predict_bundle(const std::string& bundle_dir, const std::string& device, tasks::PredictStreams& io) const override {
    translation::predict_bundle(bundle_dir, io.in, io.input_name, io.out, device, io.batch_size);
  }
  serving::Predictor serve_bundle(const std::string& bundle_dir, const std::string& device,
                                  int64_t batch_size) const override {
    return bundle_predictor(bundle_dir, device, batch_size);
  }
};

}  // namespace

std::unique_ptr<tasks::Task> make_task() { return std::make_unique<Translation>(); }

}  // namespace attune::translation
