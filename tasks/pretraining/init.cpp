#include "tasks/pretraining/init.h"

#include "core/error.h"
#include "core/files.h"
#include "models/bert/hf_checkpoint.h"
#include "tasks/classification/hf_bundle.h"
#include "tasks/classification/hf_families.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::pretraining {
namespace {

using models::HfBertArchitecture;

std::string class_name(const hf::BertBundle& b) {
  if (const hf::EncoderFamily* family = hf::family_named(b.family)) return family->class_name(b.architecture);
  return models::hf_architecture_name(b.architecture, b.options.model_type());
}

// ELECTRA's masked LM is its generator, a body attune does not read; its discriminator's
// head predicts replaced tokens, not the vocabulary. Said before the reader's own error,
// which would only list the classes it takes.
void refuse_electra(const std::string& dir) {
  const fs::path config = fs::path(dir) / "config.json";
  if (!fs::exists(config)) return;
  const nlohmann::json j = io::read_json(config.string());
  if (!j.is_object() || j.value("model_type", nlohmann::json()) != "electra") return;
  std::string held = "an ELECTRA model";
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string()) {
    held = j["architectures"][0].get<std::string>();
  }
  fail(dir, "holds " + held + ", which has no masked-LM head (ELECTRA's discriminator predicts replaced tokens; "
                "attune does not read its generator): init needs a *ForMaskedLM folder");
}

}  // namespace

MlmInit load_mlm_init(const std::string& source, std::ostream& log) {
  const std::string dir = source.substr(3);
  if (!fs::is_directory(dir)) fail(source, "directory does not exist");
  refuse_electra(dir);
  hf::BertBundle b = hf::load_bert_bundle(source, log);
  if (b.architecture != HfBertArchitecture::kMaskedLM) {
    fail(dir, "holds " + class_name(b) + ", which has no masked-LM head: init needs a *ForMaskedLM folder (" +
                  "e.g. BertForMaskedLM, RobertaForMaskedLM, ModernBertForMaskedLM, DebertaV2ForMaskedLM)");
  }
  MlmInit init;
  init.model_section = b.model_section;
  init.tokenizer = std::move(b.tokenizer);
  init.max_length = b.max_length;
  init.architecture = class_name(b);
  for (const auto& [name, t] : formats::module_tensors(*b.module)) {
    init.weights.names.push_back(name);
    init.weights.tensors[name] = t.detach();
  }
  return init;
}

}  // namespace attune::pretraining
