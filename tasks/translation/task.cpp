#include "tasks/translation/task.h"
#include "tasks/engine/run_dir.h"

#include "data/batching.h"
#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "data/text/factory.h"
#include "models/common/parameters.h"
#include "models/seq2seq/config.h"
#include "core/config.h"
#include "tasks/translation/config.h"
#include "tasks/translation/init.h"
#include "tasks/engine/peft_run.h"
#include "tasks/translation/peft.h"
#include "tasks/translation/translate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

namespace fs = std::filesystem;

namespace attune::translation {
namespace {

// Test pairs whose translations samples.jsonl keeps for the report.
constexpr size_t kSamples = 8;

std::vector<std::string> sample_lines(const data::ParallelText& text, int64_t limit) {
  // Source and target lines of evenly spaced pairs: the vocabulary is joint.
  const int64_t n = text.size();
  const int64_t pairs = limit <= 0 ? n : std::min(n, std::max<int64_t>(1, limit / 2));
  std::vector<std::string> lines;
  lines.reserve(2 * pairs);
  for (int64_t i = 0; i < pairs; ++i) {
    const int64_t j = i * n / pairs;
    lines.push_back(text.source[j]);
    lines.push_back(text.target[j]);
  }
  return lines;
}

data::ParallelText split_off_valid(data::ParallelText& train, double fraction, uint64_t seed) {
  const int64_t n = train.size();
  const std::vector<char> held = data::held_out_mask(n, fraction, seed);
  if (held.empty()) {
    fail("data.valid", "no valid data given and data.valid_fraction leaves no held-out or no training pairs (" +
                           std::to_string(n) + " pairs)");
  }
  data::ParallelText kept, valid;
  for (int64_t i = 0; i < n; ++i) {
    data::ParallelText& to = held[i] ? valid : kept;
    to.source.push_back(std::move(train.source[i]));
    to.target.push_back(std::move(train.target[i]));
    to.origin.push_back(std::move(train.origin[i]));
  }
  train = std::move(kept);
  return valid;
}

}  // namespace

nlohmann::json evaluate_text(models::Seq2SeqTransformer& model, const text::TranslationTokenizer& tokenizer,
                             const data::ParallelText& text, const Config& config, const torch::Device& device,
                             const std::string& output_path, std::vector<std::string>* translations) {
  const DecodeOptions decode = decode_options(config.decode, special_ids(tokenizer), /*for_validation=*/false);
  const int64_t max_tokens = config.translation_train.eval_max_tokens;
  const auto start = std::chrono::steady_clock::now();
  const bool bf16 = config.train.bf16;
  const std::vector<std::string> hypotheses =
      translate_lines(model, tokenizer, text.source, decode, max_tokens, device, bf16);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!output_path.empty()) {
    std::string lines;
    for (const std::string& h : hypotheses) lines += h + "\n";
    io::write_file_atomic(output_path, lines);
  }
  nlohmann::json m = score_translations(hypotheses, text.target);
  if (translations) *translations = hypotheses;
  m["beam_size"] = decode.beam_size;
  m["length_penalty"] = decode.length_penalty;
  m["seconds"] = seconds;
  m["sentences_per_s"] = static_cast<double>(text.size()) / std::max(1e-9, seconds);
  return m;
}

void write_samples(const std::string& path, const data::ParallelText& text, const std::vector<std::string>& translations,
                   size_t count) {
  std::string lines;
  for (size_t i = 0; i < std::min({count, translations.size(), text.source.size()}); ++i) {
    lines += nlohmann::json{{"source", text.source[i]}, {"reference", text.target[i]}, {"translation", translations[i]}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n";
  }
  io::write_file_atomic(path, lines);
}

TranslationTask::TranslationTask(models::Seq2SeqTransformer model, std::shared_ptr<peft::PeftModel> peft,
                                 std::shared_ptr<text::TranslationTokenizer> tokenizer, PairExamples train,
                                 PairExamples valid, TranslationSettings settings)
    : engine::PeftTrainTask(std::move(peft), kPeftTaskType),
      model_(std::move(model)),
      tokenizer_(std::move(tokenizer)),
      train_(std::move(train)),
      valid_(std::move(valid)),
      settings_(settings),
      ids_(special_ids(*tokenizer_)) {}

engine::BatchPlan TranslationTask::train_plan(int64_t epoch, uint64_t seed) {
  return data::make_token_batches(train_.source_lengths(), train_.target_lengths(), settings_.max_tokens,
                                  /*shuffle=*/true, seed * 1000003ULL + static_cast<uint64_t>(epoch));
}

torch::Tensor sequence_loss(models::Seq2SeqTransformer& model, const PairBatch& batch, double smoothing,
                            const torch::Device& device) {
  const torch::Tensor logits = model->forward(batch.source.to(device), batch.target_input.to(device));
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits.flatten(0, 1).to(torch::kFloat), batch.labels.flatten().to(device),
                          F::CrossEntropyFuncOptions().ignore_index(-100).label_smoothing(smoothing));
}

torch::Tensor TranslationTask::train_loss(const std::vector<int64_t>& batch, const torch::Device& device) {
  return with_peft_regularizer(
      sequence_loss(model_, collate_pairs(train_, batch, ids_), settings_.label_smoothing, device));
}

int64_t TranslationTask::batch_size_of(const std::vector<int64_t>& batch) const {
  int64_t tokens = 0;
  for (int64_t i : batch) tokens += static_cast<int64_t>(train_.target[i].size()) + 1;
  return tokens;
}

nlohmann::json TranslationTask::evaluate(const torch::Device& device, const engine::EvalShard& shard) {
  torch::NoGradGuard no_grad;
  const auto batches =
      data::make_token_batches(valid_.source_lengths(), valid_.target_lengths(), settings_.eval_max_tokens, false, 0);
  // Per batch: the summed loss of its target tokens, and their number.
  engine::PerBatchSums sums(static_cast<int64_t>(batches.size()), 2, device);
  for (size_t i = 0; i < batches.size(); ++i) {
    if (!shard.owns(static_cast<int64_t>(i))) continue;
    const PairBatch b = collate_pairs(valid_, batches[i], ids_);
    const double tokens = static_cast<double>(b.target_tokens);
    sums.set(static_cast<int64_t>(i),
             torch::stack({sequence_loss(model_, b, 0.0, device).to(torch::kDouble) * tokens,
                           torch::tensor(tokens, torch::kDouble).to(device)}));
  }
  const std::vector<double> total = sums.total(shard);
  const auto tokens = static_cast<int64_t>(total[1]);
  const double loss = total[0] / std::max<int64_t>(1, tokens);
  nlohmann::json m = {{"loss", loss}, {"perplexity", std::exp(loss)}, {"tokens", tokens}};
  const int64_t n = std::min(valid_.size(), settings_.eval_max_sentences);
  if (n > 0) {
    const std::vector<std::string> sources(valid_.source_text.begin(), valid_.source_text.begin() + n);
    const std::vector<std::string> refs(valid_.target_text.begin(), valid_.target_text.begin() + n);
    const nlohmann::json s = score_translations(
        translate_lines(model_, *tokenizer_, sources, settings_.eval_decode, settings_.eval_max_tokens, device,
                        settings_.bf16, shard),
        refs);
    m["bleu"] = s["bleu"];
    m["chrf"] = s["chrf"];
    m["translated"] = n;
  }
  return m;
}

namespace {

TranslationSettings settings_of(const Config& config) {
  TranslationSettings settings;
  settings.max_tokens = config.translation_train.max_tokens;
  settings.label_smoothing = config.translation_train.label_smoothing;
  settings.eval_max_tokens = config.translation_train.eval_max_tokens;
  settings.eval_max_sentences = config.translation_train.eval_max_sentences;
  settings.bf16 = config.train.bf16;
  return settings;
}

}  // namespace

void check_run_config(const nlohmann::json& config) {
  // Cheap checks first, so a typo fails before minutes of reading and tokenizing.
  const Config c = parse_config(config);
  if (c.data.train.is_null()) fail("data.train", "no training data given (a TSV/JSONL path or {source, target})");
}

engine::Prepared prepare_run(engine::Run& run) {
  nlohmann::json& config = run.config();
  Config c = parse_config(config);
  const engine::TrainOptions& options = run.options();
  const int64_t threads = c.run.threads;
  std::ostream& log = run.log();
  const DataConfig& d = c.data;
  const LengthFilter limits = length_filter(d);
  TranslationSettings settings = settings_of(c);
  const auto& tok = c.tokenizer;

  data::ParallelText train_text = read_parallel_spec(d.train, "data.train", d.source_key, d.target_key);
  data::ParallelText valid_text = d.valid.is_null()
                                      ? split_off_valid(train_text, d.valid_fraction, options.seed)
                                      : read_parallel_spec(d.valid, "data.valid", d.source_key, d.target_key);
  data::ParallelText test_text;
  if (!d.test.is_null()) test_text = read_parallel_spec(d.test, "data.test", d.source_key, d.target_key);

  const std::string tokenizer_dir = run.dir().tokenizer();
  std::shared_ptr<text::TranslationTokenizer> tokenizer;
  std::optional<MarianInit> init;
  if (!c.init.empty() && !run.resuming()) {
    init = apply_init(config, c.init, log);
    c = parse_config(config);  // the model section is the checkpoint's now: its limits apply
    log << "tokenizer: MarianTokenizer of " << c.init.substr(3) << "\n";
    tokenizer = init->tokenizer;
    tokenizer->save(tokenizer_dir);
  } else if (run.resuming()) {
    tokenizer = text::load_translation_tokenizer(tokenizer_dir);
  } else {
    log << "tokenizer: joint sentencepiece from " << d.train.dump() << "\n";
    tokenizer = text::as_translation_tokenizer(
        text::make_tokenizer(tok, sample_lines(train_text, tok.training_lines), tokenizer_dir), "tokenizer");
    tokenizer->save(tokenizer_dir);
  }
  const SpecialIds ids = special_ids(*tokenizer);
  int64_t dropped = 0;
  PairExamples train = tokenize_pairs(train_text, *tokenizer, limits, /*filter=*/true, &dropped, threads);
  PairExamples valid = tokenize_pairs(valid_text, *tokenizer, limits, /*filter=*/false, nullptr, threads);
  if (train.size() == 0) fail("data.train", "every pair was removed by the length and ratio filters");
  settings.eval_decode = decode_options(c.decode, ids, /*for_validation=*/true);

  const models::Seq2SeqOptions model_options = models::seq2seq_options(c.model, tokenizer->vocab_size(), ids.pad, "model");
  torch::manual_seed(options.seed);
  models::Seq2SeqTransformer model(model_options);
  if (init) formats::load_module_tensors(*model, init->checkpoint.tensors, init->checkpoint.file);
  const bool peft_run = peft_enabled(c);
  const engine::RunDir dir = run.dir();
  std::shared_ptr<peft::PeftModel> adapters;
  if (peft_run) {
    // On resume the base comes from the run itself, as the init (or seed) made it.
    if (run.resuming()) engine::load_peft_base(dir.path(), *model);
    adapters = add_run_adapter(model, c.peft);
  }
  model->to(options.device);
  if (!run.resuming()) {
    config["model"] = models::seq2seq_model_config(model_options, c.model.preset);
    if (peft_run) engine::save_peft_start(dir.path(), config, *adapters);
    run.save_config();
  }
  const int64_t params = models::parameter_count(*model, /*trainable_only=*/true);
  int64_t train_tokens = 0;
  for (int64_t l : train.target_lengths()) train_tokens += l;
  log << "data: " << train.size() << " train pairs (" << dropped << " dropped by the length/ratio filters, "
      << train_tokens << " target tokens), " << valid.size() << " valid; vocabulary " << tokenizer->vocab_size()
      << "; model: " << params << " parameters on " << options.device << "\n";
  if (peft_run) log << "peft: " << c.peft["method"].get<std::string>() << ", " << adapters->count().describe() << "\n";

  engine::Prepared prepared;
  prepared.summary["train_pairs"] = train.size();
  prepared.summary["dropped_pairs"] = dropped;
  prepared.trainer =
      std::make_unique<TranslationTask>(model, adapters, tokenizer, std::move(train), std::move(valid), settings);
  if (test_text.size() > 0) {
    const Config saved = c;
    const torch::Device device = options.device;
    const std::string samples = run.dir().samples();
    prepared.finish = [=](nlohmann::json& summary) mutable {
      // A PEFT run is reloaded as eval loads it: the saved base plus the best adapter.
      if (peft_run) model = load_run(dir.path(), {}, device.str()).model;
      model->eval();
      std::vector<std::string> translations;
      summary["test"] = evaluate_text(model, *tokenizer, test_text, saved, device, "", &translations);
      write_samples(samples, test_text, translations, kSamples);
    };
  }
  return prepared;
}

}  // namespace attune::translation
