// Image classification as a task: a Vision Transformer trained on IDX image files
// (Fashion-MNIST, MNIST) with augmentation, evaluated by accuracy and macro F1.
#pragma once
#include "models/peft/peft_model.h"
#include "models/vit/vit.h"
#include "tasks/engine/run.h"
#include "tasks/image_classification/config.h"

#include <nlohmann/json.hpp>

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace attune::image_classification {

// A trained run ready for inference, on its device in eval mode.
struct ImageRun {
  nlohmann::json config;
  Config typed;
  models::VisionTransformer model{nullptr};
  std::shared_ptr<peft::PeftModel> peft;  // a PEFT run's adapters (the active one in effect), else null
  std::vector<std::string> names;  // class names
  double mean = 0, std = 1;        // of the training pixels in [0, 1]
  torch::Device device = torch::kCPU;
};
// A PEFT run is its base_model.safetensors plus its adapter; extra_adapters: adapter
// directories loaded beside it (each named by its directory name), the last one active.
ImageRun load_image_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device,
                        const std::vector<std::string>& extra_adapters = {});
// The run's ViT as its model section describes it, for images of image_size pixels a side.
models::VisionTransformer make_vit(const VitConfig& m, int64_t image_size, int64_t classes);
// data.labels, or the label values "0".."classes-1" where it is null; a list of another
// length fails naming data.labels.
std::vector<std::string> label_names(const DataConfig& data, int64_t classes);
// uint8 (N, H, W) -> the model's normalised float input (N, 1, H, W).
// channels > 1: the grey image repeated in each channel, as image processors convert grey
// images to RGB before a pretrained colour model sees them.
torch::Tensor to_input(const torch::Tensor& images, double mean, double std, int64_t channels = 1);

// predict's input, an IDX images file read whole from `in`: uint8 (N, size, size).
// Failures name input_name.
torch::Tensor read_predict_images(std::istream& in, const std::string& input_name, int64_t size);
// predict's output: one {"label", "probabilities"} line per row of logits.
void write_predictions(const torch::Tensor& logits, const std::vector<std::string>& names, std::ostream& out);

// engine::Recipe's steps: the checks that need no data, then data and model.
void check_run_config(const nlohmann::json& config);
engine::Prepared prepare_run(engine::Run& run);
// data_path: "IMAGES,LABELS" (two IDX files).
// adapters: as load_image_run's extra_adapters.
nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device,
                            const std::vector<std::string>& adapters = {});
// in: an IDX images file; out: one {"label", "probabilities"} line per image.
void predict_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                 const std::string& device, int64_t batch_size, const std::vector<std::string>& adapters = {});

}  // namespace attune::image_classification
