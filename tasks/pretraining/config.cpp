#include "tasks/pretraining/config.h"

#include "core/config.h"
#include "core/error.h"
#include "models/registry.h"
#include "core/schema.h"
#include "tasks/engine/settings.h"

namespace attune::pretraining {

void DataConfig::describe(config::Schema<DataConfig>& s) {
  s.optional_string("train", &DataConfig::train, "training text, one paragraph per line");
  s.optional_string("valid", &DataConfig::valid, "held-out text; null: valid_fraction of train");
  s.number("valid_fraction", &DataConfig::valid_fraction, 0.0, 0.5, "share of train held out when valid is null");
}

void MlmConfig::describe(config::Schema<MlmConfig>& s) {
  s.number("mlm_probability", &MlmConfig::mlm_probability, 0.0, 1.0, "share of tokens selected for masking, in (0, 1)");
  s.boolean("whole_word_masking", &MlmConfig::whole_word_masking, "mask every piece of a selected word");
  // [CLS] and [SEP] take two positions; fewer than 6 pieces a block is not a context.
  s.integer("max_length", &MlmConfig::max_length, 8, 1 << 20, "tokens per block");
  s.check([](const MlmConfig& m, const std::string& prefix) {
    if (m.mlm_probability <= 0.0 || m.mlm_probability >= 1.0) {
      fail(config::key_path(prefix, "mlm_probability"), "must be in (0, 1), got " + std::to_string(m.mlm_probability));
    }
  });
}

nlohmann::json default_config() {
  nlohmann::json c = engine::default_run_keys();
  c["task"] = "mlm";
  c["run_dir"] = "runs/mlm";
  c["init"] = nullptr;
  c["data"] = config::defaults<DataConfig>();
  // training_lines: the vocabulary is learned from at most this many lines, evenly
  // spaced through the training file (0 = all).
  text::TokenizerConfig tokenizer;
  tokenizer.vocab_size = 16000;
  tokenizer.training_lines = 200000;
  c["tokenizer"] = config::to_json(tokenizer);
  models::BertModelConfig model;
  model.preset = "mini";
  // The masked-LM head's encoder takes no attention switches.
  c["model"] = config::to_json(model, models::bert_model_keys(/*attention_switches=*/false));
  c["mlm"] = config::defaults<MlmConfig>();
  engine::TrainConfig train;
  train.epochs = 1;
  train.batch_size = 64;
  train.eval_batch_size = 128;
  train.warmup_ratio = 0.06;
  train.checkpoint_every = 500;
  train.log_every = 50;
  train.selection_metric = "loss";
  c["train"] = config::to_json(train);
  c["train"].erase("bucket_by_length");  // blocks all have max_length tokens
  return c;
}

std::vector<std::string> config_help() {
  const nlohmann::json d = default_config();
  std::vector<std::string> lines = engine::engine_help(d);
  lines.push_back("init: hf:DIR, a transformers *ForMaskedLM folder (BERT, RoBERTa, XLM-R, CamemBERT, DistilBERT, "
                  "ModernBERT, DeBERTa-v2/v3) whose tokenizer, model and weights pretraining continues from; "
                  "null: a BERT encoder and tokenizer from scratch");
  config::append_help<DataConfig>(lines, "data", d.at("data"));
  config::append_help<text::TokenizerConfig>(lines, "tokenizer", d.at("tokenizer"));
  config::append_help<models::BertModelConfig>(lines, "model", d.at("model"));
  config::append_help<MlmConfig>(lines, "mlm", d.at("mlm"));
  return lines;
}

Config parse_config(const nlohmann::json& config) {
  Config c;
  c.run = engine::run_keys(config);
  // Runs written before init have no such key.
  c.init = config.contains("init") ? config::get_optional_string(config, "init", "") : "";
  if (!c.init.empty() && c.init.rfind("hf:", 0) != 0) {
    fail("init", "masked-LM pretraining continues from a Hugging Face *ForMaskedLM folder, written hf:DIR; got '" +
                     c.init + "'");
  }
  c.data = config::parse<DataConfig>(config::at_field(config, "data", ""), "data");
  c.tokenizer = config::parse<text::TokenizerConfig>(config::at_field(config, "tokenizer", ""), "tokenizer");
  c.model = config::at_field(config, "model", "");
  models::check_text_encoder_config(c.model, "model");
  c.mlm = config::parse<MlmConfig>(config::at_field(config, "mlm", ""), "mlm");
  c.train = engine::train_section(config);
  if (c.model.value("name", std::string()) == "bert") {
    const models::BertModelConfig bert = models::parse_bert_model_config(c.model, "model");
    if (c.mlm.max_length > bert.max_length) {
      fail("mlm.max_length", std::to_string(c.mlm.max_length) + " exceeds model.max_length (" +
                                 std::to_string(bert.max_length) + " position embeddings)");
    }
  }
  return c;
}

MaskingOptions masking_options(const MlmConfig& mlm) {
  return MaskingOptions().probability(mlm.mlm_probability).whole_word(mlm.whole_word_masking);
}

}  // namespace attune::pretraining
