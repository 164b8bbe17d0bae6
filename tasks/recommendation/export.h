// `attune export`, `attune predict --bundle` and `attune serve` for recommendation runs
// (sasrec, bert4rec): the model as TorchScript (models/recommender/script_export.h) that
// scores every item for padded histories, with the catalogue that maps the user's item ids
// to the model's indices (items.json).
#pragma once
#include "tasks/serving/predictor.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>

namespace attune::recommendation {

// Writes the bundle (model.pt, items.json, config.json, manifest.json) of a trained run
// to out_dir, after checking the script against the model; returns a summary for the CLI.
nlohmann::json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite);

// recommend_run's input and output from a bundle alone, for {"history": ...} requests (a
// bundle holds no users): the same lines, number for number.
void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device, int64_t batch_size, int64_t top_k);

// A server's predictor: inputs are predict's requests ({"history", "exclude", "k"}),
// outputs its {"items": [{"item", "score"}...]} rows.
serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size);

}  // namespace attune::recommendation
