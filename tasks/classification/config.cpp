#include "tasks/classification/config.h"

#include "core/error.h"
#include "core/schema.h"
#include "models/bert/model_config.h"
#include "models/peft/attention_switches.h"
#include "models/peft/config.h"
#include "models/registry.h"
#include "models/transformer/encoder_attention.h"
#include "tasks/engine/settings.h"

namespace attune::classification {

void DataConfig::describe(config::Schema<DataConfig>& s) {
  using D = DataConfig;
  s.optional_string("train", &D::train, "training file (CSV, TSV or JSONL)");
  s.optional_string("valid", &D::valid, "validation file; null: valid_fraction of train");
  s.optional_string("test", &D::test, "test file, measured once with the best weights");
  s.choice("format", &D::format, {"auto", "csv", "tsv", "jsonl"}, "file format; auto: by extension");
  s.string("text_column", &D::text_column, "column of the text");
  s.optional_string("text_pair_column", &D::text_pair_column, "column of the second text of a pair; null: none");
  s.string("label_column", &D::label_column, "column of the label");
  s.integer("max_length", &D::max_length, 8, 1 << 20, "tokens per text (pair), longer ones are cut");
  s.number("valid_fraction", &D::valid_fraction, 0.0, 0.5, "share of train held out when valid is null");
  s.string_list("context_columns", &D::context_columns, "numeric columns that condition every layer's attention");
}

void HeadConfig::describe(config::Schema<HeadConfig>& s) {
  using H = HeadConfig;
  s.choice("pooling", &H::pooling, {"cls", "mean", "attention"}, "how token states become one vector");
  s.number("dropout", &H::dropout, 0.0, 0.99, "dropout before the classifier");
  s.number("temperature", &H::temperature, 1e-3, 1e3, "attention pooling's softmax temperature");
  s.number("entropy_weight", &H::entropy_weight, 0.0, 1e3, "weight of attention pooling's entropy regulariser");
  s.number("entropy_target", &H::entropy_target, 0.0, 1.0, "entropy (share of its maximum) the regulariser aims at");
}

nlohmann::json default_config() {
  nlohmann::json c = engine::default_run_keys();
  c["task"] = "text-classification";
  c["init"] = nullptr;
  c["run_dir"] = "runs/text-classification";
  c["data"] = config::defaults<DataConfig>();
  c["tokenizer"] = config::to_json(text::TokenizerConfig{}, text::wordpiece_task_keys());
  models::BertModelConfig model;
  model.preset = "mini";
  c["model"] = config::to_json(model, models::bert_model_keys(/*attention_switches=*/true));
  c["head"] = config::defaults<HeadConfig>();
  c["peft"] = peft::default_section();
  engine::TrainConfig train;
  // Models trained from scratch need a higher rate and more passes than the
  // fine-tuning defaults of the engine.
  train.lr = 1e-3;
  train.epochs = 5;
  c["train"] = config::to_json(train);
  return c;
}

namespace {

// What a PEFT run would leave frozen at its starting values.
void check_peft_switches(const Config& c) {
  if (c.head.pooling == "attention") {
    fail("head.pooling", "attention pooling's query is not a PEFT module yet: use it with full fine-tuning");
  }
  const auto a = config::parse<models::EncoderAttentionOptions>(c.model, "model", config::UnknownKeys::kIgnore);
  peft::check_attention_switches(a, "model");
  if (a.context_size > 0 || !c.data.context_columns.empty()) {
    fail("data.context_columns", "context attention's maps are not a PEFT module yet: use it with full fine-tuning");
  }
}

}  // namespace

std::vector<std::string> config_help() {
  const nlohmann::json d = default_config();
  std::vector<std::string> lines = engine::engine_help(d);
  lines.push_back("init: an attune run directory or hf:DIR whose encoder and tokenizer the model starts from");
  config::append_help<DataConfig>(lines, "data", d.at("data"));
  config::append_help<text::TokenizerConfig>(lines, "tokenizer", d.at("tokenizer"));
  config::append_help<models::BertModelConfig>(lines, "model", d.at("model"));
  config::append_help<HeadConfig>(lines, "head", d.at("head"));
  lines.push_back("peft: a PEFT method and its keys (docs/peft.md)");
  return lines;
}

Config parse_config(const nlohmann::json& config) {
  Config c;
  c.run = engine::run_keys(config);
  c.init = config::get_optional_string(config, "init", "");
  c.data = config::parse<DataConfig>(config::at_field(config, "data", ""), "data");
  c.tokenizer = config::parse<text::TokenizerConfig>(config::at_field(config, "tokenizer", ""), "tokenizer");
  c.model = config::at_field(config, "model", "");
  models::check_text_encoder_config(c.model, "model");
  // Runs written before attention pooling have no temperature or entropy keys: defaults.
  c.head = config::parse<HeadConfig>(config::at_field(config, "head", ""), "head");
  // Runs written before PEFT have no peft section.
  c.peft = peft::run_section(config);
  c.train = engine::train_section(config);
  if (peft_enabled(c)) check_peft_switches(c);

  const int64_t positions = c.model.value("max_length", int64_t{512});
  if (c.data.max_length > positions) {
    fail("data.max_length", std::to_string(c.data.max_length) + " exceeds model.max_length (" +
                                std::to_string(positions) + " position embeddings)");
  }
  const int64_t prefix = peft::prefix_length(c.peft);
  if (c.data.max_length + prefix > positions) {
    fail("data.max_length", std::to_string(c.data.max_length) + " plus peft.num_virtual_tokens " +
                                std::to_string(prefix) + " exceeds model.max_length (" + std::to_string(positions) +
                                " position embeddings; the prefix takes the first positions, as in transformers)");
  }
  return c;
}

bool peft_enabled(const Config& config) { return peft::enabled(config.peft); }

ColumnSpec column_spec(const DataConfig& data, bool with_label) {
  ColumnSpec c;
  c.format = data.format;
  c.text = data.text_column;
  c.text_pair = data.text_pair_column;
  c.label = with_label ? data.label_column : "";
  c.context = data.context_columns;
  return c;
}

}  // namespace attune::classification
