// `attune serve --bundle BASE --adapter name=DIR ...` for text classification: one base
// classifier and many PEFT adapters (LoRA, rsLoRA, IA3) in one process, every batch
// mixing them (models/peft/mixed_batch.h).
//
// Why the native model and not the bundle's model.pt: a TorchScript module computes one
// fixed model, and per-row adapters would need the adapters scripted into it (one script
// per set of adapters, recompiled on every hot-swap). So the bundle carries the base's
// weights under attune's tensor names as well (base_model.safetensors, written by
// `attune export --adapter-base`; the manifest's "adapter_base" names it, and its SHA-256
// is checked as every file's), and the server builds the classifier its config.json
// describes and loads them. model.pt stays the same base for TorchScript users, and a
// bundle without adapters is still served through model.pt as before.
#pragma once
#include "tasks/serving/adapters.h"

#include <cstdint>
#include <string>

namespace attune::classification {

serving::AdapterPredictor adapter_predictor(const std::string& bundle_dir, const std::string& device);

}  // namespace attune::classification
