// `attune export`, `attune predict --bundle` and `attune serve` for masked-LM runs: the
// encoder and its masked-LM head as a TorchScript bundle (models/bert/masked_lm_script.h)
// that fills in "[MASK]"s without attune.
#pragma once
#include "tasks/serving/predictor.h"

#include <nlohmann/json.hpp>

#include <istream>
#include <ostream>
#include <string>

namespace attune::pretraining {

// Writes the bundle of a trained run (model.pt, tokenizer/, config.json, manifest.json) to
// out_dir, after checking the script against the model; returns a summary for the CLI.
nlohmann::json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite);

// predict_run's input and output from a bundle alone: the same lines, number for number.
void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device);

// A server's predictor: inputs are texts with at least one "[MASK]" that fit the bundle's
// max_length; outputs predict's {"text", "masks"} rows, each candidate with its "id".
serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device);

}  // namespace attune::pretraining
