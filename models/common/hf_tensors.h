// Checks a transformers checkpoint's tensors against what attune's module for it needs,
// the same way for every architecture: missing, misshapen, non-float and unexpected
// tensors fail as one line naming the file and the tensor as the file names it.
#pragma once
#include "data/formats/safetensors.h"

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace attune::models {

using TensorShapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

// "[2, 3]"; "'a', 'b' (7 in all)" for at most `limit` names: how the messages above word them.
std::string shape_text(torch::IntArrayRef sizes);
std::string quoted_names(const std::vector<std::string>& names, size_t limit = 5);

// Every parameter of `module` under prefix + its name, with its shape, in module order.
void append_parameter_shapes(TensorShapes& shapes, const torch::nn::Module& module, const std::string& prefix = "");

struct HfTensorMatch {
  std::map<std::string, torch::Tensor> tensors;  // attune name -> tensor as read
  std::map<std::string, std::string> original;   // attune name -> the file's name for it
};

// The file's tensors under attune's names (to_ours renames each); two file names that land
// on one attune name fail naming weights_path.
HfTensorMatch match_hf_names(const formats::SafetensorsFile& file,
                             const std::function<std::string(const std::string&)>& to_ours,
                             const std::string& weights_path);

// Takes the `expected` tensors (float32, in that order) out of `found`. Each leftover goes
// to ignore_reason: a reason ("tied to the embeddings") notes it, "" makes it unexpected.
// `architecture` ("ModernBertForMaskedLM") and to_file_name (attune -> file name, for
// tensors that are missing) only word the messages.
formats::SafetensorsFile take_hf_tensors(const HfTensorMatch& found, const TensorShapes& expected,
                                         const std::string& weights_path, const std::string& architecture,
                                         const std::function<std::string(const std::string&)>& to_file_name,
                                         const std::function<std::string(const std::string&)>& ignore_reason,
                                         std::vector<std::string>& notes);

}  // namespace attune::models
