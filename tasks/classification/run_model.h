// The classifier a run config describes, with its PEFT adapter when the config asks
// for one, and the same model loaded back from a trained run directory.
#pragma once
#include "data/text/tokenizer.h"
#include "data/formats/safetensors.h"
#include "models/peft/peft_model.h"
#include "tasks/classification/config.h"
#include "tasks/classification/model.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace attune::classification {

// PEFT's task type for sequence classification, written into adapter_config.json.
inline const char* kPeftTaskType = "SEQ_CLS";

struct RunModel {
  TextClassifier model{nullptr};
  std::shared_ptr<peft::PeftModel> peft;  // null for full fine-tuning
};

// Builds the classifier of `config` (random weights). With a "peft" method, the base is
// loaded from base_weights when given, and adapter "default" is attached: the
// classifier head is always among its modules_to_save, as PEFT does for SEQ_CLS.
// encoder_init: pretrained encoder weights (see load_init_encoder) loaded before any adapter.
RunModel build_run_model(const Config& config, int64_t vocab_size, int64_t num_labels,
                         const std::string& base_weights = "", const formats::SafetensorsFile* encoder_init = nullptr);

// Adapter files of a run name its modules as transformers' counterpart of the classifier
// does, so that they load in PEFT and PEFT's load here: the encoder families whose names
// differ (ModernBERT's "model.layers...", DeBERTa's "pooler...") map them; null for the
// BERT body, whose names are transformers' already.
std::function<std::string(const std::string&)> peft_file_names(const Config& config);
// Every PeftModel on a run's classifier comes from here, so all of them read and write
// the same names.
std::shared_ptr<peft::PeftModel> make_peft_model(const TextClassifier& model, const Config& config);

// A run to start from ("init": an attune run directory, e.g. a pretraining or another
// fine-tuning run, or "hf:DIR", a Hugging Face BERT checkpoint folder): its model
// section, its tokenizer and its encoder's weights (tensors named "<model name>.*" there,
// or bare encoder names), renamed to the encoder's own. A missing pooler is allowed.
struct InitEncoder {
  nlohmann::json model_config;
  std::unique_ptr<text::Tokenizer> tokenizer;
  formats::SafetensorsFile weights;
};
InitEncoder load_init_encoder(const std::string& dir);

// Everything a trained run needs at inference time.
struct LoadedRun {
  nlohmann::json config;
  Config typed;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::vector<std::string> labels;
  RunModel model;
  int64_t max_length = 0;
};

// extra_adapters: adapter directories loaded beside the run's own (each named by its
// directory name); the last one is active. Empty: the run's own weights.
LoadedRun load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device,
                   const std::vector<std::string>& extra_adapters = {});


}  // namespace attune::classification
