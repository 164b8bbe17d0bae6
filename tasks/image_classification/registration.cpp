#include "tasks/image_classification/registration.h"

#include "core/error.h"
#include "core/files.h"
#include "data/formats/png.h"
#include "data/readers/idx.h"
#include "tasks/image_classification/explain.h"
#include "tasks/image_classification/export.h"
#include "tasks/image_classification/peft.h"
#include "tasks/image_classification/task.h"

namespace attune::image_classification {
namespace {

class ImageClassification : public tasks::Task {
 public:
  std::string name() const override { return "image-classification"; }
  std::string description() const override {
    return "image classification with a Vision Transformer on IDX images (Fashion-MNIST)";
  }
  nlohmann::json default_config() const override { return image_classification::default_config(); }
  std::vector<std::string> config_help() const override { return image_classification::config_help(); }
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
    tasks::refuse_bf16(precision);
    if (adapter_base) fail("--adapter-base", "serving adapters is implemented for text-classification runs only");
    return export_run(run_dir, out_dir, overwrite, precision == tasks::Precision::kInt8Dynamic);
  }
  void predict_bundle(const std::string& bundle_dir, const std::string& device, tasks::PredictStreams& io) const override {
    image_classification::predict_bundle(bundle_dir, io.in, io.input_name, io.out, device, io.batch_size);
  }
  serving::Predictor serve_bundle(const std::string& bundle_dir, const std::string& device,
                                  int64_t batch_size) const override {
    return bundle_predictor(bundle_dir, device, batch_size);
  }
  nlohmann::json explain(const tasks::RunRequest& run, const tasks::ExplainRequest& request) const override {
    if (!request.html_path.empty()) fail("--html", "is for text runs; image runs write --png");
    const auto [file, indices] = parse_image_input(request.input);
    const torch::Tensor all = data::parse_idx(io::read_file(file), file);
    if (all.dim() != 3) fail(file, "expected an IDX images file of rank 3 (N, H, W)");
    for (int64_t i : indices) {
      if (i >= all.size(0)) fail("--input", "image " + std::to_string(i) + " is past the file's " + std::to_string(all.size(0)));
    }
    const torch::Tensor images = all.index_select(0, torch::tensor(indices));
    const nlohmann::json e = explain_images(run.run_dir, images, indices, request.layer, run.device);
    if (!request.png_path.empty()) {
      if (request.scale < 1 || request.scale > 64) fail("--scale", "must be in 1..64, got " + std::to_string(request.scale));
      formats::write_png(request.png_path, explanation_overlay(images, e, request.scale));
    }
    return e;
  }
};

}  // namespace

std::unique_ptr<tasks::Task> make_task() { return std::make_unique<ImageClassification>(); }

}  // namespace attune::image_classification
