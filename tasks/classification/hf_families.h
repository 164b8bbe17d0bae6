// The encoder families beside the BERT body that cross the Hugging Face bridge (ModernBERT,
// DeBERTa-v2/v3), behind one interface, so import, export and init treat them alike.
// Each family's modules keep the encoder under "<name>." in its heads (the classifier's
// encoder, the masked LM's body), so encoder directories and runs share those names.
#pragma once
#include "data/formats/safetensors.h"
#include "models/common/hf_architecture.h"
#include "models/text_encoder.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace attune::hf {

struct FamilyCheckpoint {
  models::HfBertArchitecture architecture = models::HfBertArchitecture::kBertModel;
  nlohmann::json model_section;  // the run config's "model" section
  int64_t vocab_size = 0;
  int64_t max_length = 0;        // the longest input the model takes
  formats::SafetensorsFile tensors;  // attune's names for the architecture's module
  std::vector<std::string> labels;
  double classifier_dropout = 0.0;
  std::vector<std::string> notes;
};

struct EncoderFamily {
  std::string name;        // model.name: "modernbert", "deberta"
  std::string model_type;  // config.json's: "modernbert", "deberta-v2"
  std::string pooler;      // the encoder's pooling parameters' prefix ("head.", "pooler."), absent from base files
  std::function<std::string(models::HfBertArchitecture)> class_name;
  // The model-section keys that attune's generic model.dropout / model.attention_dropout set.
  std::vector<std::string> hidden_dropout_keys, attention_dropout_keys;
  // A classification run's module path or tensor name as the family's ForSequenceClassification
  // names it, which PEFT's adapter files use.
  std::function<std::string(const std::string&)> to_hf_name;
  std::function<FamilyCheckpoint(const std::string& dir)> read;
  // with_pooler: whether the encoder holds its pooler (base checkpoints have none).
  std::function<std::shared_ptr<models::TextEncoderImpl>(const nlohmann::json& section, int64_t vocab, bool with_pooler)>
      encoder;
  std::function<std::shared_ptr<torch::nn::Module>(const nlohmann::json& section, int64_t vocab)> masked_lm;
  std::function<int64_t(const nlohmann::json& section, int64_t vocab)> max_length;
  // Writes dir/config.json and dir/model.safetensors from attune's tensors of the architecture's module.
  std::function<void(const std::string& dir, models::HfBertArchitecture, const nlohmann::json& section, int64_t vocab,
                     double classifier_dropout, const formats::NamedTensors& tensors, const nlohmann::json& extra)>
      write;
};

// nullptr for a model_type / model.name that no family here reads (the BERT body's).
const EncoderFamily* family_for_model_type(const std::string& model_type);
const EncoderFamily* family_named(const std::string& name);

// Sets an init's model section's dropout rates to the ones a run config gives (null keeps
// the init's): `hidden` and `attention` are the values of model.dropout and
// model.attention_dropout, spread over the family's own keys.
void set_dropout_rates(nlohmann::json& section, const nlohmann::json& hidden, const nlohmann::json& attention);

}  // namespace attune::hf
