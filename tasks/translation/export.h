// `attune export` and bundle inference for translation: the encoder-decoder as
// TorchScript with encode / init_cache / decode_step methods
// (models/seq2seq/script_export.h), so services run greedy or beam search on it
// without attune, and attune itself decodes a bundle with its own search code.
#pragma once
#include "tasks/serving/predictor.h"
#include "tasks/translation/decoding.h"

#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace attune::translation {

// StepModel over a bundle's module: what greedy and beam search need. Modules with
// decode_rows (bundles from this version on) decode rows at different steps, so sources
// can join mid-search; older bundles decode with decode_step and cannot.
class ScriptStepModel : public StepModel {
 public:
  ScriptStepModel(torch::jit::Module module, int64_t max_positions);
  int64_t max_positions() const override { return max_positions_; }
  void start(const torch::Tensor& src_ids) override;
  torch::Tensor next_logits(const torch::Tensor& tokens) override;
  void select(const torch::Tensor& rows) override;
  bool can_join() const override { return by_rows_; }
  void join(const torch::Tensor& src_ids) override;

 private:
  // Drops cache columns that no row uses any more: self keys before the longest target,
  // cross keys after the longest source.
  void trim();

  torch::jit::Module module_;
  int64_t max_positions_;
  bool by_rows_;
  torch::Tensor source_mask_;
  std::vector<torch::Tensor> cache_;  // per decoder layer: self k, self v, cross k, cross v
  // Per row: target tokens so far (its next position) and real source tokens.
  std::vector<int64_t> positions_, source_lengths_;
};

// Writes the bundle of a trained translation run (model.pt, tokenizer/, config.json,
// manifest.json) to out_dir; returns a summary for the CLI.
nlohmann::json export_run(const std::string& run_dir, const std::string& out_dir, bool overwrite, bool int8 = false);

// translate_run from a bundle alone: one translation a line, with the bundle's decode
// settings (config.json's decode section).
void predict_bundle(const std::string& bundle_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                    const std::string& device, int64_t batch_size);

// A server's predictor over a bundle: inputs are sentences, outputs {"translation": text}.
serving::Predictor bundle_predictor(const std::string& bundle_dir, const std::string& device, int64_t batch_size);

}  // namespace attune::translation
