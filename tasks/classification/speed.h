// `attune bench` for text classification: the speed of a run config's model on
// synthetic full-length batches, measured through the code `attune train` runs
// (ClassificationTask and engine::StepRunner) and the code a service runs (eval-mode
// forward, the exported TorchScript). tools/bench/hf_speed_peer.py measures Hugging Face
// Transformers + PEFT the same way; tools/bench/speed_bench.sh runs both in one call.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace attune::classification {

struct SpeedOptions {
  std::string mode = "train";  // "train": optimizer steps; "infer": throughput and latency
  int64_t seq_len = 128;
  int64_t batch_size = 32;
  int64_t warmup = 10;   // steps (or batches) before timing
  int64_t steps = 20;    // timed per repeat
  int64_t repeats = 5;   // the spread is over repeats
  int64_t latency_runs = 100;  // infer: single-example calls timed one by one
  int64_t vocab_size = 30522;  // BERT-base's, as the peer's BertConfig
  int64_t num_labels = 2;
  // Ablations that restore what the loop did before each speed change (docs/speed-notes.md):
  bool masked = false;           // one sequence a token short per batch, so every batch carries a mask
  bool sync_every_step = false;  // read the loss back after every step
  bool fused_optimizer = true;
  bool cuda_graphs = true;       // false: eager steps even where the config's train.cuda_graphs asks for graphs
};

// Runs the benchmark on the device `config` names and returns one JSON record: the
// shapes, the timings (median, min, max over repeats), samples and tokens per second,
// and peak GPU memory when on CUDA. config: a text-classification run config.
nlohmann::json speed_bench(const nlohmann::json& config, const SpeedOptions& options);

// The bf16 (CUDA) or float32 (CPU) matrix-multiply rate of the device, the denominator
// of model-FLOP utilisation: {"mode": "matmul", "dtype", "size", "tflops"}.
nlohmann::json matmul_rate(const std::string& device, int64_t size);

}  // namespace attune::classification
