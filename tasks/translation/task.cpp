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
#include "tasks/translation/translate.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

namespace attune::translation {
namespace {

using config::get_double;
using config::get_int;

// The model's positions must hold the longest kept source (+ EOS) and target (+ BOS).
void check_lengths(const LengthFilter& limits, const models::Seq2SeqOptions& o) {
  if (limits.max_source_tokens + 1 > o.max_positions() || limits.max_target_tokens + 1 > o.max_positions()) {
    fail("data.max_source_tokens", "source/target limits (" + std::to_string(limits.max_source_tokens) + ", " +
                                       std::to_string(limits.max_target_tokens) + ") plus EOS/BOS exceed model.max_positions (" +
                                       std::to_string(o.max_positions()) + ")");
  }
}

LengthFilter length_filter(const nlohmann::json& config) {
  const nlohmann::json& d = config.at("data");
  LengthFilter f;
  f.max_source_tokens = get_int(d, "max_source_tokens", "data", 1, 1 << 20);
  f.max_target_tokens = get_int(d, "max_target_tokens", "data", 1, 1 << 20);
  f.max_ratio = get_double(d, "max_length_ratio", "data", 1.0, 1e9);
  return f;
}

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

DecodeOptions decode_options(const nlohmann::json& config, const SpecialIds& ids, bool for_validation) {
  const nlohmann::json& d = config.at("decode");
  DecodeOptions o;
  o.beam_size = get_int(d, for_validation ? "eval_beam_size" : "beam_size", "decode", 1, 256);
  o.length_penalty = get_double(d, "length_penalty", "decode", 0.0, 10.0);
  o.max_length_ratio = get_double(d, "max_length_ratio", "decode", 0.0, 100.0);
  o.max_length_extra = get_int(d, "max_length_extra", "decode", 0, 1 << 20);
  o.bos_id = ids.bos;
  o.eos_id = ids.eos;
  o.pad_id = ids.pad;
  return o;
}

nlohmann::json evaluate_text(models::Seq2SeqTransformer& model, const text::SentencePieceTokenizer& tokenizer,
                             const data::ParallelText& text, const nlohmann::json& config, const torch::Device& device,
                             const std::string& output_path) {
  const DecodeOptions decode = decode_options(config, special_ids(tokenizer), /*for_validation=*/false);
  const int64_t max_tokens = get_int(config.at("train"), "eval_max_tokens", "train", 1, 1 << 30);
  const auto start = std::chrono::steady_clock::now();
  const bool bf16 = config::get_bool(config.at("train"), "bf16", "train");
  const std::vector<std::string> hypotheses =
      translate_lines(model, tokenizer, text.source, decode, max_tokens, device, bf16);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!output_path.empty()) {
    std::string lines;
    for (const std::string& h : hypotheses) lines += h + "\n";
    io::write_file_atomic(output_path, lines);
  }
  nlohmann::json m = score_translations(hypotheses, text.target);
  m["beam_size"] = decode.beam_size;
  m["length_penalty"] = decode.length_penalty;
  m["seconds"] = seconds;
  m["sentences_per_s"] = static_cast<double>(text.size()) / std::max(1e-9, seconds);
  return m;
}

nlohmann::json default_config() {
  nlohmann::json c = engine::default_run_keys();
  c["task"] = "translation";
  c["run_dir"] = "runs/translation";
  // train/valid/test: a TSV ("source<TAB>target") or JSONL path, or {"source": path,
  // "target": path}; without valid, valid_fraction of train is held out.
  c["data"] = {{"train", nullptr},          {"valid", nullptr},           {"test", nullptr},
               {"valid_fraction", 0.01},    {"source_key", "src"},        {"target_key", "tgt"},
               {"max_source_tokens", 128},  {"max_target_tokens", 128},   {"max_length_ratio", 3.0}};
  // A joint vocabulary learned from both sides of the training data, or a given .model.
  text::TokenizerConfig tokenizer;
  tokenizer.type = "sentencepiece";
  tokenizer.training_lines = 400000;
  c["tokenizer"] = config::to_json(tokenizer, {"type", "model", "vocab_size", "model_type", "training_lines"});
  c["model"] = models::seq2seq_default_config("transformer-small");
  c["train"] = engine::default_train_section();
  c["train"].erase("bucket_by_length");  // token batches are always bucketed
  c["train"]["epochs"] = 20;
  c["train"]["max_tokens"] = 4096;
  c["train"]["label_smoothing"] = 0.1;
  c["train"]["lr"] = 7e-4;
  c["train"]["schedule"] = "inverse_sqrt";
  c["train"]["warmup_steps"] = 1000;
  c["train"]["adam_beta2"] = 0.98;
  c["train"]["weight_decay"] = 0.0001;
  c["train"]["eval_max_tokens"] = 8192;
  c["train"]["eval_max_sentences"] = 500;
  c["train"]["selection_metric"] = "bleu";
  c["train"]["checkpoint_every"] = 1000;
  c["train"]["log_every"] = 100;
  c["decode"] = {{"beam_size", 4},      {"length_penalty", 1.0}, {"max_length_ratio", 1.5},
                 {"max_length_extra", 10}, {"eval_beam_size", 1}, {"output", nullptr}};
  return c;
}

TranslationTask::TranslationTask(models::Seq2SeqTransformer model,
                                 std::shared_ptr<text::SentencePieceTokenizer> tokenizer, PairExamples train,
                                 PairExamples valid, TranslationSettings settings)
    : model_(std::move(model)),
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
  return sequence_loss(model_, collate_pairs(train_, batch, ids_), settings_.label_smoothing, device);
}

int64_t TranslationTask::batch_size_of(const std::vector<int64_t>& batch) const {
  int64_t tokens = 0;
  for (int64_t i : batch) tokens += static_cast<int64_t>(train_.target[i].size()) + 1;
  return tokens;
}

nlohmann::json TranslationTask::evaluate(const torch::Device& device) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  int64_t tokens = 0;
  for (const auto& batch : data::make_token_batches(valid_.source_lengths(), valid_.target_lengths(),
                                                    settings_.eval_max_tokens, false, 0)) {
    const PairBatch b = collate_pairs(valid_, batch, ids_);
    loss_sum += sequence_loss(model_, b, 0.0, device).to(torch::kDouble) * static_cast<double>(b.target_tokens);
    tokens += b.target_tokens;
  }
  const double loss = loss_sum.item<double>() / std::max<int64_t>(1, tokens);
  nlohmann::json m = {{"loss", loss}, {"perplexity", std::exp(loss)}, {"tokens", tokens}};
  const int64_t n = std::min(valid_.size(), settings_.eval_max_sentences);
  if (n > 0) {
    const std::vector<std::string> sources(valid_.source_text.begin(), valid_.source_text.begin() + n);
    const std::vector<std::string> refs(valid_.target_text.begin(), valid_.target_text.begin() + n);
    const nlohmann::json s = score_translations(
        translate_lines(model_, *tokenizer_, sources, settings_.eval_decode, settings_.eval_max_tokens, device,
                        settings_.bf16),
        refs);
    m["bleu"] = s["bleu"];
    m["chrf"] = s["chrf"];
    m["translated"] = n;
  }
  return m;
}

namespace {

TranslationSettings settings_of(const nlohmann::json& config) {
  const nlohmann::json& t = config.at("train");
  TranslationSettings settings;
  settings.max_tokens = get_int(t, "max_tokens", "train", 1, 1 << 30);
  settings.label_smoothing = get_double(t, "label_smoothing", "train", 0.0, 0.999);
  settings.eval_max_tokens = get_int(t, "eval_max_tokens", "train", 1, 1 << 30);
  settings.eval_max_sentences = get_int(t, "eval_max_sentences", "train", 0, 1 << 30);
  settings.bf16 = config::get_bool(t, "bf16", "train");
  return settings;
}

}  // namespace

void check_run_config(const nlohmann::json& config) {
  // Cheap checks first, so a typo fails before minutes of reading and tokenizing.
  const nlohmann::json& d = config.at("data");
  if (d.at("train").is_null()) fail("data.train", "no training data given (a TSV/JSONL path or {source, target})");
  config::get_string(d, "source_key", "data");
  config::get_string(d, "target_key", "data");
  const LengthFilter limits = length_filter(config);
  const TranslationSettings settings = settings_of(config);
  if (config::parse<text::TokenizerConfig>(config.at("tokenizer"), "tokenizer").type != "sentencepiece") {
    fail("tokenizer.type", "translation needs a sentencepiece tokenizer (it detokenizes its output)");
  }
  check_lengths(limits, models::seq2seq_options_from_config(config.at("model"), 16, 0, "model"));
  decode_options(config, {}, false);
  const std::string metric = config::get_string(config.at("train"), "selection_metric", "train");
  if (settings.eval_max_sentences > 0 && metric != "bleu" && metric != "chrf" && metric != "loss" &&
      metric != "perplexity") {
    fail("train.selection_metric", "'" + metric + "' is not a validation metric (bleu, chrf, loss, perplexity)");
  }
}

engine::Prepared prepare_run(engine::Run& run) {
  nlohmann::json& config = run.config();
  const engine::TrainOptions& options = run.options();
  const int64_t threads = get_int(config, "threads", "", 0, 1024);
  std::ostream& log = run.log();
  const nlohmann::json& d = config.at("data");
  const std::string source_key = config::get_string(d, "source_key", "data");
  const std::string target_key = config::get_string(d, "target_key", "data");
  const LengthFilter limits = length_filter(config);
  TranslationSettings settings = settings_of(config);
  const auto tok = config::parse<text::TokenizerConfig>(config.at("tokenizer"), "tokenizer");

  data::ParallelText train_text = read_parallel_spec(d.at("train"), "data.train", source_key, target_key);
  data::ParallelText valid_text =
      d.at("valid").is_null()
          ? split_off_valid(train_text, get_double(d, "valid_fraction", "data", 0.0, 0.5), options.seed)
          : read_parallel_spec(d.at("valid"), "data.valid", source_key, target_key);
  data::ParallelText test_text;
  if (!d.at("test").is_null()) test_text = read_parallel_spec(d.at("test"), "data.test", source_key, target_key);

  const std::string tokenizer_dir = run.dir().tokenizer();
  std::shared_ptr<text::SentencePieceTokenizer> tokenizer;
  if (run.resuming()) {
    tokenizer = as_sentencepiece(text::load_tokenizer(tokenizer_dir), tokenizer_dir);
  } else {
    log << "tokenizer: joint sentencepiece from " << d.at("train").dump() << "\n";
    tokenizer = as_sentencepiece(text::make_tokenizer(tok, sample_lines(train_text, tok.training_lines), tokenizer_dir),
                                 "tokenizer");
    tokenizer->save(tokenizer_dir);
  }
  const SpecialIds ids = special_ids(*tokenizer);
  int64_t dropped = 0;
  PairExamples train = tokenize_pairs(train_text, *tokenizer, limits, /*filter=*/true, &dropped, threads);
  PairExamples valid = tokenize_pairs(valid_text, *tokenizer, limits, /*filter=*/false, nullptr, threads);
  if (train.size() == 0) fail("data.train", "every pair was removed by the length and ratio filters");
  settings.eval_decode = decode_options(config, ids, /*for_validation=*/true);

  const models::Seq2SeqOptions model_options =
      models::seq2seq_options_from_config(config.at("model"), tokenizer->vocab_size(), ids.pad, "model");
  torch::manual_seed(options.seed);
  models::Seq2SeqTransformer model(model_options);
  model->to(options.device);
  if (!run.resuming()) {
    config["model"] = models::seq2seq_model_config(model_options, config.at("model").value("preset", ""));
    run.save_config();
  }
  const int64_t params = models::parameter_count(*model, /*trainable_only=*/true);
  int64_t train_tokens = 0;
  for (int64_t l : train.target_lengths()) train_tokens += l;
  log << "data: " << train.size() << " train pairs (" << dropped << " dropped by the length/ratio filters, "
      << train_tokens << " target tokens), " << valid.size() << " valid; vocabulary " << tokenizer->vocab_size()
      << "; model: " << params << " parameters on " << options.device << "\n";

  engine::Prepared prepared;
  prepared.summary["train_pairs"] = train.size();
  prepared.summary["dropped_pairs"] = dropped;
  prepared.trainer = std::make_unique<TranslationTask>(model, tokenizer, std::move(train), std::move(valid), settings);
  if (test_text.size() > 0) {
    const nlohmann::json saved = config;
    const torch::Device device = options.device;
    prepared.finish = [=](nlohmann::json& summary) mutable {
      model->eval();
      summary["test"] = evaluate_text(model, *tokenizer, test_text, saved, device, "");
    };
  }
  return prepared;
}

}  // namespace attune::translation
