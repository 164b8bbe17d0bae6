#include "tasks/classification/hf_convert.h"

#include "data/text/hf_tokenizer_json/hf_json_tokenizer.h"
#include "tasks/engine/run_dir.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "data/text/hf_tokenizer.h"
#include "data/text/wordpiece.h"
#include "models/bert/model_config.h"
#include "tasks/classification/hf_families.h"
#include "models/common/hf_labels.h"
#include "models/common/parameters.h"
#include "tasks/classification/examples.h"
#include "tasks/classification/task.h"
#include "tasks/engine/settings.h"
#include "tasks/classification/hf_bundle.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::hf {
namespace {

// transformers 5's DebertaV2Tokenizer rebuilds its pipeline from these settings rather than
// from tokenizer.json's normaliser and pre-tokenizer, so they must say what the file does.
nlohmann::json deberta_tokenizer_settings(const text::HfJsonTokenizer& tokenizer) {
  const nlohmann::json j = nlohmann::json::parse(tokenizer.json_text());
  bool lower = false, punct = false, always = true;
  const auto scan = [&](const nlohmann::json& node, const char* list_key, const auto& each) {
    if (!node.is_object()) return;
    if (node.value("type", "") == "Sequence" && node.contains(list_key)) {
      for (const auto& item : node[list_key]) each(item);
    } else {
      each(node);
    }
  };
  scan(j.value("normalizer", nlohmann::json()), "normalizers",
       [&](const nlohmann::json& n) { lower = lower || n.value("type", "") == "Lowercase"; });
  scan(j.value("pre_tokenizer", nlohmann::json()), "pretokenizers", [&](const nlohmann::json& n) {
    punct = punct || n.value("type", "") == "Punctuation";
    if (n.value("type", "") == "Metaspace") always = n.value("prepend_scheme", "always") == "always";
  });
  return {{"tokenizer_class", "DebertaV2Tokenizer"}, {"do_lower_case", lower}, {"split_by_punct", punct},
          {"add_prefix_space", always}};
}


using models::HfBertArchitecture;

// transformers' class for the bundle's family and architecture ("ModernBertForMaskedLM").
std::string architecture_name(const BertBundle& b) {
  if (const EncoderFamily* family = family_named(b.family)) return family->class_name(b.architecture);
  return models::hf_architecture_name(b.architecture, b.options.model_type());
}

// The classification run config of an imported BertForSequenceClassification: the
// defaults, with the checkpoint's architecture, head and tokenizer settings, and the
// engine's fine-tuning schedule (not the from-scratch one) for further training.
nlohmann::json classification_config(const BertBundle& b, const std::string& out_dir) {
  nlohmann::json config = classification::default_config();
  config["run_dir"] = out_dir;
  config["model"] = b.model_section;
  config["head"] = {{"pooling", "cls"}, {"dropout", b.classifier_dropout}};
  // A tokenizer.json (RoBERTa, XLM-R, ...) is kept as it is in tokenizer/; the section
  // only describes tokenizers attune builds itself.
  if (const auto* wordpiece = dynamic_cast<const text::WordPieceTokenizer*>(b.tokenizer.get())) {
    const auto& basic = wordpiece->options().basic;
    config["tokenizer"]["type"] = "wordpiece";
    config["tokenizer"]["lowercase"] = basic.lowercase;
    config["tokenizer"]["strip_accents"] =
        basic.strip_accents < 0 ? nlohmann::json() : nlohmann::json(basic.strip_accents == 1);
  }
  config["data"]["max_length"] = std::max<int64_t>(8, b.max_length);
  config["train"] = engine::default_train_section();
  return config;
}

}  // namespace

nlohmann::json import_hf(const std::string& hf_dir, const std::string& out_dir, std::ostream& log) {
  io::require_empty_output_dir(out_dir);
  BertBundle b = load_bert_bundle("hf:" + hf_dir, log);
  const engine::RunDir out(out_dir);
  fs::create_directories(out_dir);
  b.tokenizer->save(out.tokenizer());
  const std::string architecture = architecture_name(b);
  nlohmann::json config;
  formats::NamedTensors tensors = formats::module_tensors(*b.module);
  if (b.architecture == HfBertArchitecture::kSequenceClassification) {
    config = classification_config(b, out_dir);
    classification::save_label_map(out.labels(), b.labels);
  } else {
    config = {{"architecture", architecture},
              {"source", fs::absolute(hf_dir).lexically_normal().string()},
              {"model", b.model_section}};
    // The same "bert.*" ("modernbert.*") names a classifier or masked LM uses, so "init"
    // reads any of them.
    if (b.architecture == HfBertArchitecture::kBertModel) {
      for (auto& [name, t] : tensors) name = b.family + "." + name;
    }
  }
  formats::save_safetensors(out.weights(), tensors);
  // Last: a directory without config.json is visibly unfinished.
  io::write_json_atomic(out.config(), config);
  nlohmann::json summary = {{"from", hf_dir}, {"out", out_dir}, {"architecture", architecture},
                            {"parameters", models::parameter_count(*b.module)}};
  if (!b.labels.empty() && b.architecture == HfBertArchitecture::kSequenceClassification) summary["labels"] = b.labels;
  return summary;
}

nlohmann::json export_hf(const std::string& run_dir, const std::string& out_dir, bool encoder_only, std::ostream& log) {
  io::require_empty_output_dir(out_dir);
  BertBundle b = load_bert_bundle(run_dir, log, encoder_only);
  if (b.family == "bert" && b.options.pre_layer_norm()) {
    fail(run_dir, "pre-LN BERT (model.pre_layer_norm: true) has no Hugging Face BertConfig equivalent, so it "
                  "cannot be exported");
  }
  const auto* wordpiece = dynamic_cast<const text::WordPieceTokenizer*>(b.tokenizer.get());
  // DebertaV2Tokenizer reads a SentencePiece model as spm.model.
  const auto* spm = b.family == "deberta" ? dynamic_cast<const text::SentencePieceTokenizer*>(b.tokenizer.get()) : nullptr;
  if (wordpiece == nullptr && spm == nullptr && b.tokenizer->kind() != "hf_tokenizer_json") {
    fail(run_dir, "the tokenizer is " + b.tokenizer->kind() +
                      "; transformers needs a WordPiece vocabulary (tokenizer.type wordpiece), a tokenizer.json, or "
                      "for DeBERTa a SentencePiece model");
  }
  if (b.architecture == HfBertArchitecture::kSequenceClassification && b.pooling != "cls") {
    fail(run_dir, "head.pooling '" + b.pooling + "' has no Hugging Face counterpart (" + architecture_name(b) +
                      " classifies the pooler's output); pass --encoder-only to export just the encoder");
  }
  nlohmann::json extra = nlohmann::json::object();
  if (b.architecture == HfBertArchitecture::kSequenceClassification) {
    extra = models::label_maps(b.labels);
    extra.update({{"num_labels", static_cast<int64_t>(b.labels.size())},
                  {"problem_type", "single_label_classification"},
                  {"classifier_dropout", b.classifier_dropout}});
  }
  if (const EncoderFamily* family = family_named(b.family)) {
    extra.erase("classifier_dropout");
    family->write(out_dir, b.architecture, b.model_section, b.tokenizer->vocab_size(), b.classifier_dropout,
                  formats::module_tensors(*b.module), extra);
  } else {
    models::write_hf_bert(out_dir, b.architecture, b.options, formats::module_tensors(*b.module), extra);
  }
  if (wordpiece != nullptr) {
    text::save_hf_bert_tokenizer(*wordpiece, out_dir, b.max_length);
  } else if (spm != nullptr) {
    text::save_hf_deberta_spm_tokenizer(*spm, out_dir, b.max_length);
  } else {
    // The tokenizer.json the model came with, unchanged; AutoTokenizer picks the fast
    // tokenizer class from config.json's model_type.
    b.tokenizer->save(out_dir);
    nlohmann::json settings = {{"model_max_length", b.max_length}};
    if (b.family == "deberta") {
      settings.update(deberta_tokenizer_settings(dynamic_cast<const text::HfJsonTokenizer&>(*b.tokenizer)));
    }
    io::write_json_atomic((fs::path(out_dir) / "tokenizer_config.json").string(), settings);
  }
  if (b.family == "bert" && b.architecture == HfBertArchitecture::kBertModel && !b.options.add_pooling_layer()) {
    log << "note: the encoder has no pooler; load it with BertModel.from_pretrained(dir, add_pooling_layer=False)\n";
  }
  return {{"from", run_dir},
          {"out", out_dir},
          {"architecture", architecture_name(b)},
          {"parameters", models::parameter_count(*b.module)}};
}

}  // namespace attune::hf
