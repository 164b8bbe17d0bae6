#include "tasks/classification/hf_families.h"

#include "models/deberta/deberta.h"
#include "models/deberta/hf_checkpoint.h"
#include "models/deberta/masked_lm.h"
#include "models/deberta/model_config.h"
#include "models/modernbert/hf_checkpoint.h"
#include "models/modernbert/hf_names.h"
#include "models/modernbert/masked_lm.h"
#include "models/modernbert/model_config.h"
#include "models/modernbert/modernbert.h"
#include "models/registry.h"

namespace attune::hf {
namespace {

template <typename Checkpoint>
FamilyCheckpoint common_fields(Checkpoint& ck) {
  FamilyCheckpoint out;
  out.architecture = ck.architecture;
  out.tensors = std::move(ck.tensors);
  out.labels = std::move(ck.labels);
  out.classifier_dropout = ck.classifier_dropout;
  out.notes = std::move(ck.notes);
  return out;
}

EncoderFamily modernbert() {
  EncoderFamily f;
  f.name = "modernbert";
  f.model_type = "modernbert";
  f.pooler = "head.";
  f.hidden_dropout_keys = {"embedding_dropout", "mlp_dropout"};
  f.attention_dropout_keys = {"attention_dropout"};
  f.class_name = models::modernbert_class_name;
  f.to_hf_name = [](const std::string& name) { return models::modernbert_name_to_hf(name, "modernbert."); };
  f.read = [](const std::string& dir) {
    models::HfModernBertCheckpoint ck = models::read_hf_modernbert(dir);
    FamilyCheckpoint out = common_fields(ck);
    out.model_section = models::modernbert_model_config(ck.options, "");
    out.vocab_size = ck.options.vocab_size();
    out.max_length = ck.options.max_position_embeddings();
    return out;
  };
  f.encoder = [](const nlohmann::json& section, int64_t vocab, bool with_pooler) {
    auto o = models::modernbert_options_from_model_config(section, vocab, "model").add_head(with_pooler);
    return std::make_shared<models::ModernBertModelImpl>(o);
  };
  f.masked_lm = [](const nlohmann::json& section, int64_t vocab) {
    return models::make_masked_lm(section, vocab, "model");
  };
  f.max_length = [](const nlohmann::json& section, int64_t vocab) {
    return models::modernbert_options_from_model_config(section, vocab, "model").max_position_embeddings();
  };
  f.write = [](const std::string& dir, models::HfBertArchitecture arch, const nlohmann::json& section, int64_t vocab,
               double classifier_dropout, const formats::NamedTensors& tensors, const nlohmann::json& extra) {
    auto o = models::modernbert_options_from_model_config(section, vocab, dir);
    // Only a classifier knows its dropout; other heads keep ModernBertConfig's.
    if (arch == models::HfBertArchitecture::kSequenceClassification) o.classifier_dropout(classifier_dropout);
    models::write_hf_modernbert(dir, arch, o, tensors, extra);
  };
  return f;
}

EncoderFamily deberta() {
  EncoderFamily f;
  f.name = "deberta";
  f.model_type = "deberta-v2";
  f.pooler = "pooler.";
  f.hidden_dropout_keys = {"dropout"};
  f.attention_dropout_keys = {"attention_dropout"};
  f.class_name = models::deberta_class_name;
  f.to_hf_name = [](const std::string& name) {
    return models::deberta_name_to_hf(name, models::HfBertArchitecture::kSequenceClassification);
  };
  f.read = [](const std::string& dir) {
    models::HfDebertaCheckpoint ck = models::read_hf_deberta(dir);
    FamilyCheckpoint out = common_fields(ck);
    out.model_section = models::deberta_model_config(ck.options, "");
    out.vocab_size = ck.options.vocab_size();
    out.max_length = ck.options.max_position_embeddings();
    return out;
  };
  f.encoder = [](const nlohmann::json& section, int64_t vocab, bool with_pooler) {
    auto o = models::deberta_options_from_model_config(section, vocab, "model").add_pooling_layer(with_pooler);
    return std::make_shared<models::DebertaV2ModelImpl>(o);
  };
  f.masked_lm = [](const nlohmann::json& section, int64_t vocab) {
    return models::make_masked_lm(section, vocab, "model");
  };
  f.max_length = [](const nlohmann::json& section, int64_t vocab) {
    return models::deberta_options_from_model_config(section, vocab, "model").max_position_embeddings();
  };
  f.write = [](const std::string& dir, models::HfBertArchitecture arch, const nlohmann::json& section, int64_t vocab,
               double classifier_dropout, const formats::NamedTensors& tensors, const nlohmann::json& extra) {
    const auto o = models::deberta_options_from_model_config(section, vocab, dir);
    nlohmann::json more = extra;
    if (more.contains("classifier_dropout")) more.erase("classifier_dropout");
    // DebertaV2Config's name for it; only a classifier knows its dropout.
    if (arch == models::HfBertArchitecture::kSequenceClassification) more["cls_dropout"] = classifier_dropout;
    models::write_hf_deberta(dir, arch, o, tensors, more);
  };
  return f;
}

const std::vector<EncoderFamily>& families() {
  static const std::vector<EncoderFamily> all = {modernbert(), deberta()};
  return all;
}

}  // namespace

const EncoderFamily* family_for_model_type(const std::string& model_type) {
  for (const auto& f : families()) {
    if (f.model_type == model_type) return &f;
  }
  return nullptr;
}

const EncoderFamily* family_named(const std::string& name) {
  for (const auto& f : families()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void set_dropout_rates(nlohmann::json& section, const nlohmann::json& hidden, const nlohmann::json& attention) {
  const EncoderFamily* family = family_named(section.value("name", std::string()));
  // The BERT body's section names them as the run config does.
  const std::vector<std::string> hidden_keys = family ? family->hidden_dropout_keys : std::vector<std::string>{"dropout"};
  const std::vector<std::string> attention_keys =
      family ? family->attention_dropout_keys : std::vector<std::string>{"attention_dropout"};
  for (const auto& key : hidden_keys) {
    if (!hidden.is_null()) section[key] = hidden;
  }
  for (const auto& key : attention_keys) {
    if (!attention.is_null()) section[key] = attention;
  }
}

}  // namespace attune::hf
