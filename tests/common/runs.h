// Training runs of the real `attune` binary that tests start, stop and compare: a tiny
// text classifier's arguments, weight files compared, metrics.jsonl followed.
#pragma once
#include "data/formats/safetensors.h"
#include "tests/catch.h"
#include "tests/common/cli.h"

#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace attune::testing {

inline std::vector<std::string> plus_args(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A tiny text classifier without dropout and without length bucketing (which would
// order B-batches differently from 2B-batches), 20 steps, evaluated once at the end so
// that model.safetensors holds the final weights. AdamW's eps is 1e-5: attention's key
// biases have a gradient that is zero in exact arithmetic (softmax ignores a constant
// shift), so theirs is rounding noise of ~1e-10 that differs with the summation order,
// and eps 1e-8 would scale it up to lr-sized steps (1e-3 apart after 20 steps, whether
// the batch is split over ranks or over grad_accum in one process).
inline std::vector<std::string> text_run(const std::string& dir, const std::string& run, int batch) {
  return {"train", "--set", "run_dir=" + dir + "/" + run, "--set", "device=cpu", "--set", "threads=1",
          "--set", "data.train=" + dir + "/train.csv", "--set", "data.max_length=24", "--set",
          "tokenizer.vocab_size=120", "--set", "model.hidden_size=32", "--set", "model.num_layers=1", "--set",
          "model.num_heads=2", "--set", "model.intermediate_size=64", "--set", "model.dropout=0", "--set",
          "model.attention_dropout=0", "--set", "head.dropout=0", "--set", "train.bucket_by_length=false",
          "--set", "train.epochs=50", "--set", "train.max_steps=20", "--set", "train.eval_every=20", "--set",
          "train.lr=5e-3", "--set", "train.adam_eps=1e-5", "--set", "train.batch_size=" + std::to_string(batch)};
}

inline void require_success(const Result& r) {
  INFO("stderr: " << r.err);
  REQUIRE(r.status == 0);
}

// The largest difference between two weight files' tensors (they must have the same names).
inline double max_difference(const std::string& a, const std::string& b) {
  const auto fa = attune::formats::load_safetensors(a);
  const auto fb = attune::formats::load_safetensors(b);
  REQUIRE(fa.names == fb.names);
  REQUIRE(!fa.names.empty());
  double worst = 0.0;
  for (const auto& name : fa.names) {
    const torch::Tensor x = fa.tensors.at(name).to(torch::kDouble), y = fb.tensors.at(name).to(torch::kDouble);
    REQUIRE(x.sizes() == y.sizes());
    worst = std::max(worst, (x - y).abs().max().item<double>());
  }
  return worst;
}

inline int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Waits (a minute at most) until the file at `path` has `lines` lines.
inline void wait_for_lines(const std::string& path, int lines) {
  const auto started = std::chrono::steady_clock::now();
  while (count_lines(path) < lines && std::chrono::steady_clock::now() - started < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(count_lines(path) >= lines);
}

}  // namespace attune::testing
