// Translation ("translation"): a Transformer encoder-decoder trained with teacher
// forcing and label-smoothed cross-entropy on sentence pairs, batched by token count,
// with a joint SentencePiece vocabulary or, started from an OPUS-MT folder (init=hf:DIR),
// that folder's MarianTokenizer; validated by loss and by BLEU/chrF of greedy
// translations; used through attune translate / eval.
#pragma once
#include "models/peft/peft_model.h"
#include "models/seq2seq/transformer.h"
#include "tasks/engine/peft_run.h"
#include "tasks/engine/run.h"
#include "tasks/engine/task.h"
#include "tasks/translation/config.h"
#include "tasks/translation/decoding.h"
#include "tasks/translation/examples.h"

#include <nlohmann/json.hpp>

#include <istream>
#include <memory>
#include <ostream>

namespace attune::translation {

struct TranslationSettings {
  int64_t max_tokens = 4096;      // padded tokens a training batch
  double label_smoothing = 0.1;
  int64_t eval_max_tokens = 8192;
  int64_t eval_max_sentences = 500;  // translated at each evaluation for BLEU/chrF (0 = none)
  DecodeOptions eval_decode;         // how those are translated (greedy by default)
  bool bf16 = true;                  // autocast while translating on CUDA
};

class TranslationTask : public engine::PeftTrainTask {
 public:
  // peft: the model's adapters when only they are trained, else null.
  TranslationTask(models::Seq2SeqTransformer model, std::shared_ptr<peft::PeftModel> peft,
                  std::shared_ptr<text::TranslationTokenizer> tokenizer, PairExamples train, PairExamples valid,
                  TranslationSettings settings);
  std::shared_ptr<torch::nn::Module> model() override { return model_.ptr(); }
  engine::BatchPlan train_plan(int64_t epoch, uint64_t seed) override;
  torch::Tensor train_loss(const std::vector<int64_t>& batch, const torch::Device& device) override;
  int64_t batch_size_of(const std::vector<int64_t>& batch) const override;  // target tokens
  nlohmann::json evaluate(const torch::Device& device, const engine::EvalShard& shard) override;

 private:
  models::Seq2SeqTransformer model_;
  std::shared_ptr<text::TranslationTokenizer> tokenizer_;
  PairExamples train_, valid_;
  TranslationSettings settings_;
  SpecialIds ids_;
};

// Mean cross-entropy per target token (label-smoothed as `smoothing` says) of a batch.
torch::Tensor sequence_loss(models::Seq2SeqTransformer& model, const PairBatch& batch, double smoothing,
                            const torch::Device& device);

// BLEU/chrF (and speed) of translating `text` with the config's decode section; writes
// the translations to output_path unless it is empty, and to `translations` unless null.
nlohmann::json evaluate_text(models::Seq2SeqTransformer& model, const text::TranslationTokenizer& tokenizer,
                             const data::ParallelText& text, const Config& config, const torch::Device& device,
                             const std::string& output_path, std::vector<std::string>* translations = nullptr);

// The run's samples.jsonl: the first `count` pairs of `text` with their translations
// ({source, reference, translation} a line), which `attune report` shows.
void write_samples(const std::string& path, const data::ParallelText& text, const std::vector<std::string>& translations,
                   size_t count);

// engine::Recipe's steps: the checks that need no data, then data and model.
void check_run_config(const nlohmann::json& config);
engine::Prepared prepare_run(engine::Run& run);

// A trained run as eval, translate and export use it: config (with overrides), the
// tokenizer, and the model with its weights, in eval mode on `device`.
struct LoadedRun {
  nlohmann::json config;
  Config typed;
  std::shared_ptr<text::TranslationTokenizer> tokenizer;
  models::Seq2SeqTransformer model{nullptr};
  std::shared_ptr<peft::PeftModel> peft;  // a PEFT run's adapters (the active one in effect), else null
  torch::Device device = torch::kCPU;
};
// A PEFT run is its base_model.safetensors plus its adapter; extra_adapters: adapter
// directories loaded beside it (each named by its directory name), the last one active.
LoadedRun load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device,
                   const std::vector<std::string>& extra_adapters = {});
// BLEU and chrF (sacreBLEU's defaults) of the run's translations of a parallel file,
// with the config's decode section (beam search by default); --set decode.output=FILE
// also writes the translations.
// adapters: as load_run's extra_adapters.
nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device,
                            const std::vector<std::string>& adapters = {});
// One translation a line, in input order; overrides apply to the run's config (decode.*).
void translate_run(const std::string& run_dir, std::istream& in, std::ostream& out, const std::string& device,
                   const std::vector<std::string>& overrides, const std::vector<std::string>& adapters = {});

}  // namespace attune::translation
