// `attune export`, `attune predict --bundle` and `attune serve` for image classification:
// a trained ViT as a TorchScript bundle (tasks/bundle/bundle.h) that takes raw pixels and
// normalises them itself, so a service needs no attune code and no statistics of the
// training set to get the run's answers.
#pragma once
#include "tasks/image_classification/task.h"
#include "tasks/serving/predictor.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <istream>
#include <ostream>
#include <string>

namespace attune::image_classification {

// TorchScript computing the run's logits in eval mode:
//   forward(pixels: Tensor) -> Tensor
//     pixels (B, C, S, S), float or uint8, values 0..255 as in the IDX files -> (B, classes)
// The script divides by 255 and normalises with the run's mean and std, as to_input does.
torch::jit::Module script_image_classifier(ImageRun& run, bool int8 = false);

// Writes the bundle of a trained run to out_dir (see bundle::write_bundle for
// overwrite); the scripted model is checked against the run's first. Returns a summary.
nlohmann::json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite, bool int8 = false);

// predict_run's input (an IDX images file) and output rows, from a bundle alone.
void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device, int64_t batch_size);

// One request input as pixels (channels, size, size) float: a list of `size` rows of
// `size` numbers in 0..255 (channels 1), or of `channels` such planes, or {"png": BASE64}
// of an 8-bit PNG with `channels` channels. Failures name `where` (e.g. "inputs[2]").
torch::Tensor request_pixels(const nlohmann::json& input, int64_t channels, int64_t size, const std::string& where);

// A server's predictor over a bundle: inputs as request_pixels takes them; outputs are
// predict's {"label", "probabilities"} rows.
serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size);

}  // namespace attune::image_classification
