#include "tasks/translation/config.h"

#include "core/error.h"
#include "core/schema.h"
#include "models/peft/config.h"
#include "tasks/engine/settings.h"

namespace attune::translation {
void DataConfig::describe(config::Schema<DataConfig>& s) {
  using D = DataConfig;
  s.json("train", &D::train, check_parallel_spec, "training pairs: a TSV/JSONL path or {source, target} paths");
  s.json("valid", &D::valid, check_parallel_spec, "validation pairs; null: valid_fraction of train");
  s.json("test", &D::test, check_parallel_spec, "test pairs, measured once with the best weights");
  s.number("valid_fraction", &D::valid_fraction, 0.0, 0.5, "share of train held out when valid is null");
  s.string("source_key", &D::source_key, "JSONL key of the source text");
  s.string("target_key", &D::target_key, "JSONL key of the target text");
  s.integer("max_source_tokens", &D::max_source_tokens, 1, 1 << 20, "longer training pairs are dropped");
  s.integer("max_target_tokens", &D::max_target_tokens, 1, 1 << 20, "longer training pairs are dropped");
  s.number("max_length_ratio", &D::max_length_ratio, 1.0, 1e9, "pairs whose lengths differ more are dropped");
}

void TranslationTrainConfig::describe(config::Schema<TranslationTrainConfig>& s) {
  using T = TranslationTrainConfig;
  s.integer("max_tokens", &T::max_tokens, 1, 1 << 30, "padded tokens a training batch");
  s.number("label_smoothing", &T::label_smoothing, 0.0, 0.999, "label smoothing of the cross-entropy");
  s.integer("eval_max_tokens", &T::eval_max_tokens, 1, 1 << 30, "padded tokens an evaluation or translation batch");
  s.integer("eval_max_sentences", &T::eval_max_sentences, 0, 1 << 30,
            "validation sentences translated for BLEU/chrF at each evaluation; 0 = none");
}

void DecodeConfig::describe(config::Schema<DecodeConfig>& s) {
  using D = DecodeConfig;
  s.integer("beam_size", &D::beam_size, 1, 256, "beam width of translate and eval; 1 = greedy");
  s.number("length_penalty", &D::length_penalty, 0.0, 10.0, "fairseq's length penalty exponent");
  s.number("max_length_ratio", &D::max_length_ratio, 0.0, 100.0, "output length limit: ratio x source + extra");
  s.integer("max_length_extra", &D::max_length_extra, 0, 1 << 20, "output length limit: ratio x source + extra");
  s.integer("eval_beam_size", &D::eval_beam_size, 1, 256, "beam width of the validation translations");
  s.optional_string("output", &D::output, "eval: also write the translations to this file");
}

nlohmann::json default_config() {
  nlohmann::json c = engine::default_run_keys();
  c["task"] = "translation";
  c["run_dir"] = "runs/translation";
  c["data"] = config::defaults<DataConfig>();
  // A joint vocabulary learned from both sides of the training data, or a given .model.
  text::TokenizerConfig tokenizer;
  tokenizer.type = "sentencepiece";
  tokenizer.training_lines = 400000;
  c["tokenizer"] = config::to_json(tokenizer, {"type", "model", "vocab_size", "model_type", "training_lines"});
  c["model"] = models::seq2seq_default_config("transformer-small");
  engine::TrainConfig train;
  train.epochs = 20;
  train.lr = 7e-4;
  train.schedule = "inverse_sqrt";
  train.warmup_steps = 1000;
  train.adam_beta2 = 0.98;
  train.weight_decay = 0.0001;
  train.selection_metric = "bleu";
  train.checkpoint_every = 1000;
  train.log_every = 100;
  c["train"] = config::to_json(train);
  c["train"].erase("bucket_by_length");  // token batches are always bucketed
  c["train"].update(config::defaults<TranslationTrainConfig>());
  c["decode"] = config::defaults<DecodeConfig>();
  c["init"] = nullptr;
  c["peft"] = peft::default_section();
  return c;
}

std::vector<std::string> config_help() {
  const nlohmann::json d = default_config();
  std::vector<std::string> lines = engine::engine_help(d);
  config::append_help<TranslationTrainConfig>(lines, "train", d.at("train"));
  config::append_help<DataConfig>(lines, "data", d.at("data"));
  config::append_help<text::TokenizerConfig>(lines, "tokenizer", d.at("tokenizer"));
  config::append_help<models::Seq2SeqModelConfig>(lines, "model", d.at("model"));
  config::append_help<DecodeConfig>(lines, "decode", d.at("decode"));
  lines.push_back("init: hf:DIR (a transformers MarianMTModel + MarianTokenizer folder, e.g. OPUS-MT) to fine-tune from");
  lines.push_back("peft: a PEFT method and its keys (docs/peft.md); target_modules name Marian's layers (q_proj, ...)");
  return lines;
}

Config parse_config(const nlohmann::json& config) {
  Config c;
  c.run = engine::run_keys(config);
  c.data = config::parse<DataConfig>(config::at_field(config, "data", ""), "data");
  c.tokenizer = config::parse<text::TokenizerConfig>(config::at_field(config, "tokenizer", ""), "tokenizer");
  if (c.tokenizer.type != "sentencepiece") {
    fail("tokenizer.type", "translation needs a sentencepiece tokenizer (it detokenizes its output)");
  }
  c.model = models::parse_seq2seq_model_config(config::at_field(config, "model", ""), "model");
  c.train = engine::train_section(config);
  c.translation_train =
      config::parse<TranslationTrainConfig>(config::at_field(config, "train", ""), "train", config::UnknownKeys::kIgnore);
  c.decode = config::parse<DecodeConfig>(config::at_field(config, "decode", ""), "decode");
  // Run directories written before "init" existed have no such key: they started from scratch.
  c.init = config.contains("init") ? config::get_optional_string(config, "init", "") : "";
  // Runs written before PEFT have no peft section.
  c.peft = peft::run_section(config);
  if (peft_enabled(c) && c.peft.at("method") == "prefix_tuning") {
    // Its prefixes reach the encoders' attention (models/attention), not the encoder-decoder's.
    fail("peft.method", "prefix_tuning is not implemented for the encoder-decoder; use lora, adalora, ia3, bitfit "
                        "or bottleneck");
  }
  if (!c.init.empty() && c.init.rfind("hf:", 0) != 0) {
    fail("init", "expected hf:DIR (a transformers MarianMTModel folder), got '" + c.init + "'");
  }
  // The model's positions must hold the longest kept source (+ EOS) and target (+ BOS).
  const models::Seq2SeqOptions o = models::seq2seq_options(c.model, 16, 0, "model");
  if (c.data.max_source_tokens + 1 > o.max_positions() || c.data.max_target_tokens + 1 > o.max_positions()) {
    fail("data.max_source_tokens", "source/target limits (" + std::to_string(c.data.max_source_tokens) + ", " +
                                       std::to_string(c.data.max_target_tokens) +
                                       ") plus EOS/BOS exceed model.max_positions (" +
                                       std::to_string(o.max_positions()) + ")");
  }
  const std::string& metric = c.train.selection_metric;
  if (c.translation_train.eval_max_sentences > 0 && metric != "bleu" && metric != "chrf" && metric != "loss" &&
      metric != "perplexity") {
    fail("train.selection_metric", "'" + metric + "' is not a validation metric (bleu, chrf, loss, perplexity)");
  }
  return c;
}

bool peft_enabled(const Config& config) { return peft::enabled(config.peft); }

LengthFilter length_filter(const DataConfig& data) {
  LengthFilter f;
  f.max_source_tokens = data.max_source_tokens;
  f.max_target_tokens = data.max_target_tokens;
  f.max_ratio = data.max_length_ratio;
  return f;
}

DecodeOptions decode_options(const DecodeConfig& decode, const SpecialIds& ids, bool for_validation) {
  DecodeOptions o;
  o.beam_size = for_validation ? decode.eval_beam_size : decode.beam_size;
  o.length_penalty = decode.length_penalty;
  o.max_length_ratio = decode.max_length_ratio;
  o.max_length_extra = decode.max_length_extra;
  o.bos_id = ids.bos;
  o.eos_id = ids.eos;
  o.pad_id = ids.pad;
  return o;
}

}  // namespace attune::translation
