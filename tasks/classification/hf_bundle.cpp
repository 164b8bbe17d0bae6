#include "tasks/classification/hf_bundle.h"
#include "tasks/engine/run_dir.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "data/text/hf_folder_tokenizer.h"
#include "data/text/tokenizer.h"
#include "models/bert/bert.h"
#include "models/bert/masked_lm.h"
#include "models/bert/model_config.h"
#include "models/deberta/masked_lm.h"
#include "models/modernbert/masked_lm.h"
#include "tasks/classification/hf_families.h"
#include "models/peft/config.h"
#include "tasks/classification/run_model.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::hf {
namespace {

using models::HfBertArchitecture;

// attune sizes the embeddings from the vocabulary, so the two must agree.
void check_vocabulary(const std::string& dir, int64_t config_vocab, const text::HfFolderTokenizer& tok) {
  if (tok.tokenizer->vocab_size() != config_vocab) {
    fail(dir, "config.json has vocab_size " + std::to_string(config_vocab) + " but " + tok.source + " has " +
                  std::to_string(tok.tokenizer->vocab_size()) +
                  " tokens (attune sizes the embeddings from the vocabulary)");
  }
}

std::shared_ptr<classification::TextClassifierImpl> make_classifier(std::shared_ptr<models::TextEncoderImpl> encoder,
                                                                     const std::string& name, int64_t num_labels,
                                                                     double dropout) {
  classification::TextClassifierOptions head(num_labels);
  head.pooling("cls").dropout(dropout);
  return std::make_shared<classification::TextClassifierImpl>(std::move(encoder), name, head);
}

// The family's bare encoder holding `encoder` (its own names), with its pooler exactly
// when the tensors have one (base checkpoints do not).
std::shared_ptr<models::TextEncoderImpl> load_family_encoder(const EncoderFamily& family, const nlohmann::json& section,
                                                             int64_t vocab, const formats::SafetensorsFile& encoder,
                                                             const std::string& weights) {
  auto model = family.encoder(section, vocab, encoder.tensors.count(family.pooler + "dense.weight") > 0);
  formats::load_module_tensors(*model, encoder, weights);
  return model;
}

// A family of hf_families.h: ModernBERT, DeBERTa.
BertBundle from_hf_family(const EncoderFamily& family, const std::string& dir, std::ostream& log, bool encoder_only) {
  FamilyCheckpoint ck = family.read(dir);
  for (const auto& note : ck.notes) log << "note: " << note << "\n";
  text::HfFolderTokenizer tok = text::load_hf_folder_tokenizer(dir);
  // These checkpoints may pad their embeddings past the tokenizer (the section keeps
  // vocab_size); a tokenizer with ids past the table cannot be used.
  if (tok.tokenizer->vocab_size() > ck.vocab_size) check_vocabulary(dir, ck.vocab_size, tok);
  BertBundle b;
  b.family = family.name;
  b.model_section = ck.model_section;
  b.labels = ck.labels;
  b.classifier_dropout = ck.classifier_dropout;
  b.max_length = tok.model_max_length > 0 ? std::min(tok.model_max_length, ck.max_length) : ck.max_length;
  b.tokenizer = std::move(tok.tokenizer);
  const std::string weights = (fs::path(dir) / "model.safetensors").string();
  const std::string prefix = family.name + ".";
  b.architecture = encoder_only ? HfBertArchitecture::kBertModel : ck.architecture;
  if (b.architecture == HfBertArchitecture::kBertModel) {
    b.module = load_family_encoder(family, b.model_section, ck.vocab_size,
                                   ck.architecture == HfBertArchitecture::kBertModel
                                       ? ck.tensors
                                       : models::strip_prefix(ck.tensors, prefix),
                                   weights);
  } else if (b.architecture == HfBertArchitecture::kSequenceClassification) {
    auto model = make_classifier(family.encoder(b.model_section, ck.vocab_size, true), family.name,
                                 static_cast<int64_t>(b.labels.size()), b.classifier_dropout);
    formats::load_module_tensors(*model, ck.tensors, weights);
    b.module = model;
  } else {
    auto model = family.masked_lm(b.model_section, ck.vocab_size);
    formats::load_module_tensors(*model, ck.tensors, weights);
    b.module = model;
  }
  return b;
}

// config.json's model_type, "" when the folder has none to read.
std::string hf_model_type(const std::string& dir) {
  const fs::path config = fs::path(dir) / "config.json";
  if (!fs::exists(config)) return "";
  const nlohmann::json j = io::read_json(config.string());
  return j.is_object() && j.contains("model_type") && j["model_type"].is_string() ? j["model_type"].get<std::string>()
                                                                                   : "";
}

BertBundle from_hf(const std::string& dir, std::ostream& log, bool encoder_only) {
  if (const EncoderFamily* family = family_for_model_type(hf_model_type(dir))) {
    return from_hf_family(*family, dir, log, encoder_only);
  }
  models::HfBertCheckpoint ck = models::read_hf_bert(dir);
  for (const auto& note : ck.notes) log << "note: " << note << "\n";
  text::HfFolderTokenizer tok = text::load_hf_folder_tokenizer(dir);
  check_vocabulary(dir, ck.options.vocab_size(), tok);
  BertBundle b;
  b.model_section = models::bert_model_config(ck.options, "");
  b.architecture = encoder_only ? HfBertArchitecture::kBertModel : ck.architecture;
  b.options = ck.options;
  b.labels = ck.labels;
  b.classifier_dropout = ck.classifier_dropout;
  b.max_length = tok.model_max_length > 0 ? std::min(tok.model_max_length, models::max_sequence_length(ck.options))
                                          : models::max_sequence_length(ck.options);
  b.tokenizer = std::move(tok.tokenizer);
  const std::string weights = (fs::path(dir) / "model.safetensors").string();
  switch (b.architecture) {
    case HfBertArchitecture::kBertModel: {
      auto model = std::make_shared<models::BertModelImpl>(b.options);
      formats::load_module_tensors(*model, models::strip_prefix(ck.tensors, "bert."), weights);
      b.module = model;
      break;
    }
    case HfBertArchitecture::kSequenceClassification: {
      auto model = make_classifier(std::make_shared<models::BertModelImpl>(b.options), "bert",
                                   static_cast<int64_t>(b.labels.size()), b.classifier_dropout);
      formats::load_module_tensors(*model, ck.tensors, weights);
      b.module = model;
      break;
    }
    case HfBertArchitecture::kMaskedLM: {
      auto model = std::make_shared<models::BertForMaskedLMImpl>(b.options);
      formats::load_module_tensors(*model, ck.tensors, weights);
      b.module = model;
      break;
    }
  }
  return b;
}

BertBundle from_classification_run(const std::string& dir, const nlohmann::json& config, bool encoder_only) {
  if (config.contains("peft") && peft::enabled(config["peft"])) {
    fail(dir, "a PEFT run holds only its adapter: fold it into the base first (attune merge --run " + dir +
                  " --out MERGED) and use MERGED");
  }
  classification::LoadedRun run = classification::load_run(dir, {}, "cpu");
  classification::TextClassifier& classifier = run.model.model;
  models::TextEncoderImpl* encoder = &classifier->encoder();
  BertBundle b;
  b.family = config["model"]["name"].get<std::string>();
  b.model_section = encoder->config();
  if (auto* bert = dynamic_cast<models::BertModelImpl*>(encoder)) b.options = bert->options();
  b.labels = run.labels;
  b.max_length = run.max_length;
  b.pooling = classifier->options().pooling();
  b.classifier_dropout = classifier->options().dropout();
  b.tokenizer = std::move(run.tokenizer);
  if (encoder_only) {
    b.architecture = HfBertArchitecture::kBertModel;
    b.module = std::shared_ptr<torch::nn::Module>(classifier.ptr(), encoder);  // keeps the classifier alive
  } else {
    b.architecture = HfBertArchitecture::kSequenceClassification;
    b.module = classifier.ptr();
  }
  return b;
}

// An encoder directory of a family of hf_families.h: "<name>.*" tensors (its pooler inside),
// plus the masked LM's head when config.json's "architecture" names the masked LM or the
// directory is a masked-LM pretraining run.
BertBundle from_family_dir(const EncoderFamily& family, const std::string& dir, const nlohmann::json& config,
                           bool encoder_only) {
  const engine::RunDir run(dir);
  BertBundle b;
  b.family = family.name;
  b.tokenizer = text::load_tokenizer(run.tokenizer());
  const int64_t vocab = b.tokenizer->vocab_size();
  b.model_section = config["model"];
  b.max_length = family.max_length(b.model_section, vocab);
  const std::string weights = run.weights();
  if (!fs::exists(weights)) fail(dir, "no model.safetensors");
  const formats::SafetensorsFile file = formats::load_safetensors(weights);
  // A masked-LM pretraining run ("task": "mlm") holds the same tensors as an imported masked LM.
  const bool mlm = config.value("architecture", std::string()) == family.class_name(HfBertArchitecture::kMaskedLM) ||
                   config.value("task", std::string()) == "mlm";
  if (mlm && !encoder_only) {
    b.architecture = HfBertArchitecture::kMaskedLM;
    auto model = family.masked_lm(b.model_section, vocab);
    formats::load_module_tensors(*model, file, weights);
    b.module = model;
    return b;
  }
  b.architecture = HfBertArchitecture::kBertModel;
  formats::SafetensorsFile encoder = models::strip_prefix(file, family.name + ".");
  if (encoder.names.empty()) encoder = file;  // a bare encoder file
  b.module = load_family_encoder(family, b.model_section, vocab, encoder, weights);
  return b;
}

// config.json's "model" section, tokenizer/ and model.safetensors: "bert.*" (or bare)
// encoder tensors, plus "cls.predictions.*" for a masked LM.
BertBundle from_encoder_dir(const std::string& dir, const nlohmann::json& config, std::ostream& log,
                            bool encoder_only) {
  const engine::RunDir run(dir);
  const std::string config_path = run.config();
  BertBundle b;
  b.tokenizer = text::load_tokenizer(run.tokenizer());
  b.options = models::bert_options_from_model_config(config["model"], b.tokenizer->vocab_size(), config_path + ": model");
  b.model_section = models::bert_model_config(b.options, "");
  b.max_length = models::max_sequence_length(b.options);
  const std::string weights = run.weights();
  if (!fs::exists(weights)) fail(dir, "no model.safetensors");
  const formats::SafetensorsFile file = formats::load_safetensors(weights);
  formats::SafetensorsFile encoder = models::strip_prefix(file, "bert.");
  if (encoder.names.empty()) encoder = file;  // a bare encoder file
  if (file.tensors.count("cls.predictions.bias") && !encoder_only) {
    b.architecture = HfBertArchitecture::kMaskedLM;
    formats::SafetensorsFile used;
    std::vector<std::string> pooler;
    for (const auto& name : file.names) {
      if (name.rfind("bert.pooler.", 0) == 0) {
        pooler.push_back(name);
        continue;
      }
      used.names.push_back(name);
      used.tensors[name] = file.tensors.at(name);
    }
    if (!pooler.empty()) log << "note: " << weights << ": ignoring the pooler (BertForMaskedLM has none)\n";
    auto model = std::make_shared<models::BertForMaskedLMImpl>(b.options);
    formats::load_module_tensors(*model, used, weights);
    b.module = model;
  } else {
    b.architecture = HfBertArchitecture::kBertModel;
    b.options.add_pooling_layer(encoder.tensors.count("pooler.dense.weight") > 0);
    auto model = std::make_shared<models::BertModelImpl>(b.options);
    formats::load_module_tensors(*model, encoder, weights);
    b.module = model;
  }
  return b;
}

}  // namespace

BertBundle load_bert_bundle(const std::string& source, std::ostream& log, bool encoder_only) {
  if (source.rfind("hf:", 0) == 0) return from_hf(source.substr(3), log, encoder_only);
  const std::string config_path = engine::RunDir(source).config();
  if (!fs::is_directory(source)) fail(source, "directory does not exist");
  if (!fs::exists(config_path)) {
    fail(source, "not an attune directory (no config.json); write hf:" + source + " for a Hugging Face folder");
  }
  const nlohmann::json config = io::read_json(config_path);
  if (!config.contains("model") || !config["model"].is_object()) fail(config_path, "missing key 'model'");
  const nlohmann::json name = config["model"].value("name", nlohmann::json());
  const EncoderFamily* family = name.is_string() ? family_named(name.get<std::string>()) : nullptr;
  if (name != "bert" && family == nullptr) {
    fail(config_path + ": model.name",
         "only BERT-family, ModernBERT and DeBERTa models have a Hugging Face counterpart, got " + name.dump());
  }
  if (config.value("task", nlohmann::json()) == "text-classification") {
    return from_classification_run(source, config, encoder_only);
  }
  if (family != nullptr) return from_family_dir(*family, source, config, encoder_only);
  return from_encoder_dir(source, config, log, encoder_only);
}

BertForwardOutput bert_bundle_forward(BertBundle& bundle, const torch::Tensor& input_ids,
                                      const torch::Tensor& token_type_ids, const torch::Tensor& attention_mask) {
  BertForwardOutput out;
  switch (bundle.architecture) {
    case HfBertArchitecture::kBertModel: {
      auto* model = dynamic_cast<models::TextEncoderImpl*>(bundle.module.get());
      TORCH_CHECK(model != nullptr, "bert_bundle_forward: not an encoder");
      models::EncoderOutput o = model->encode(input_ids, token_type_ids, attention_mask, false);
      out.last_hidden_state = o.hidden;
      out.pooler_output = o.pooled;
      break;
    }
    case HfBertArchitecture::kSequenceClassification: {
      auto* model = dynamic_cast<classification::TextClassifierImpl*>(bundle.module.get());
      TORCH_CHECK(model != nullptr, "bert_bundle_forward: not a TextClassifier");
      models::EncoderOutput o = model->encoder().encode(input_ids, token_type_ids, attention_mask, false);
      out.last_hidden_state = o.hidden;
      out.pooler_output = o.pooled;
      out.logits = model->forward(input_ids, token_type_ids, attention_mask);
      break;
    }
    case HfBertArchitecture::kMaskedLM: {
      if (auto* modern = dynamic_cast<models::ModernBertForMaskedLMImpl*>(bundle.module.get())) {
        out.last_hidden_state = modern->modernbert->forward(input_ids, attention_mask);
        out.logits = modern->forward(input_ids, attention_mask);
        break;
      }
      if (auto* deberta = dynamic_cast<models::DebertaV2ForMaskedLMImpl*>(bundle.module.get())) {
        out.last_hidden_state = deberta->deberta->encode(input_ids, token_type_ids, attention_mask, false).hidden;
        out.logits = deberta->forward(input_ids, token_type_ids, attention_mask);
        break;
      }
      auto* model = dynamic_cast<models::BertForMaskedLMImpl*>(bundle.module.get());
      TORCH_CHECK(model != nullptr, "bert_bundle_forward: not a BertForMaskedLM");
      out.last_hidden_state = model->bert->forward(input_ids, token_type_ids, attention_mask).last_hidden_state;
      out.logits = model->forward(input_ids, token_type_ids, attention_mask);
      break;
    }
  }
  return out;
}

}  // namespace attune::hf
