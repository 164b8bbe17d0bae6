// `attune bench` for text classification: the speed of a run config's model on
// synthetic full-length batches, measured through the code `attune train` runs
// (ClassificationTask and engine::StepRunner) and the code a service runs (eval-mode
// forward, the exported TorchScript). tools/bench/hf_speed_peer.py measures Hugging Face
// Transformers + PEFT the same way; tools/bench/speed_bench.sh runs both in one call.
#pragma once
#include "tasks/task.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace attune::classification {

// The benchmark's shapes, timing and ablations.
using SpeedOptions = tasks::BenchOptions;

// Runs the benchmark on the device `config` names and returns one JSON record: the
// shapes, the timings (median, min, max over repeats), samples and tokens per second,
// and peak GPU memory when on CUDA. config: a text-classification run config.
nlohmann::json speed_bench(const nlohmann::json& config, const SpeedOptions& options);

// The bf16 (CUDA) or float32 (CPU) matrix-multiply rate of the device, the denominator
// of model-FLOP utilisation: {"mode": "matmul", "dtype", "size", "tflops"}.
nlohmann::json matmul_rate(const std::string& device, int64_t size);

}  // namespace attune::classification
