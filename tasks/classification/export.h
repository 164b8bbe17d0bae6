// `attune export` and `attune predict --bundle` for text classification: the trained
// classifier as a TorchScript bundle (tasks/bundle/bundle.h) that C++ or Python services
// load with torch::jit::load / torch.jit.load alone, for any batch size and length.
#pragma once
#include "tasks/bundle/precision.h"
#include "tasks/classification/run_model.h"
#include "tasks/serving/predictor.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <istream>
#include <ostream>
#include <string>

namespace attune::classification {

// TorchScript computing `model`'s logits in eval mode (dropout off), in `precision`
// (float32 logits whatever it is):
//   forward(input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None)
//       -> Tensor (B, num_labels)
// Active bottleneck adapters and prefixes are scripted as they are; other adapters must
// be merged first. Fails for encoders that cannot be scripted yet.
torch::jit::Module script_classifier(TextClassifierImpl& model, bundle::Precision precision = bundle::Precision::kFloat32);

struct ScriptedRun {
  torch::jit::Module module;
  nlohmann::json peft;  // {"method": name or null, "merged": whether it was folded into the weights}
};
// Folds the run's adapter into its base when it is linear in the weights (LoRA, AdaLoRA, IA3,
// BitFit), then scripts the model. Changes run.model in place.
ScriptedRun script_run_model(RunModel& run, bundle::Precision precision = bundle::Precision::kFloat32);

// Writes the bundle of a trained run to out_dir (see bundle::write_bundle for --overwrite);
// returns a summary for the CLI.
// adapter_base: the bundle also holds base_model.safetensors, the weights of the base
// (a PEFT run's without its adapter, and model.pt is then that base too), which
// `attune serve --adapter` loads adapters onto (adapter_serving.h).
nlohmann::json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite,
                          bundle::Precision precision = bundle::Precision::kFloat32, bool adapter_base = false);

// predict_run's input and output, from a bundle alone (its manifest, tokenizer/, config.json, model.pt).
void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device, int64_t batch_size);

// A server's predictor over a bundle: inputs are texts or objects with the run's text
// column(s); outputs are predict's {"label", "probabilities"} rows.
serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size);

}  // namespace attune::classification
