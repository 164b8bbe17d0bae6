#include "tasks/classification/run_model.h"

#include "tasks/classification/examples.h"
#include "tasks/engine/peft_run.h"
#include "tasks/engine/run_dir.h"

#include "models/bert/hf_names.h"
#include "models/bert/model_config.h"
#include "models/transformer/encoder_attention.h"

#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "data/text/factory.h"
#include "models/peft/config.h"
#include "core/config.h"
#include "tasks/engine/settings.h"
#include "tasks/classification/hf_bundle.h"
#include "tasks/classification/hf_families.h"

#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;

namespace attune::classification {
namespace {

// A masked-LM run has no pooler, as HF's BertForMaskedLM has none (nor a base ModernBertModel
// its prediction head): like from_pretrained, the pooler then keeps its fresh initialisation. So do the modules of attention switches
// (layer fusion, relative position bias, context maps) that the init encoder was built
// without. Any other missing tensor is an error.
void load_encoder_init(torch::nn::Module& encoder, const formats::SafetensorsFile& init, const std::string& path) {
  bool missing_only_fresh = false;
  for (const auto& [name, tensor] : formats::module_tensors(encoder)) {
    if (init.tensors.count(name)) continue;
    const bool pooler = name.rfind("pooler.", 0) == 0 || name.rfind("head.", 0) == 0;
    if (!pooler && !models::is_encoder_attention_parameter(name)) {
      missing_only_fresh = false;
      break;
    }
    missing_only_fresh = true;
  }
  if (missing_only_fresh) {
    formats::load_tensor_subset(encoder, init, path);
  } else {
    formats::load_module_tensors(encoder, init, path);
  }
}

}  // namespace

InitEncoder load_init_encoder(const std::string& dir) {
  if (dir.rfind("hf:", 0) == 0) {
    hf::BertBundle bundle = hf::load_bert_bundle(dir, std::cerr, /*encoder_only=*/true);
    InitEncoder init;
    init.model_config = bundle.model_section;
    init.tokenizer = std::move(bundle.tokenizer);
    for (const auto& [name, t] : formats::module_tensors(*bundle.module)) {
      init.weights.names.push_back(name);
      init.weights.tensors[name] = t.detach();
    }
    return init;
  }
  const engine::RunDir root(dir);
  const std::string config_path = root.config();
  if (!fs::is_directory(dir)) fail(dir, "init directory does not exist");
  if (!fs::exists(config_path)) fail(dir, "not an attune run directory (no config.json)");
  const nlohmann::json config = io::read_json(config_path);
  if (!config.contains("model") || !config["model"].is_object()) fail(config_path, "missing key 'model'");
  InitEncoder init;
  init.model_config = config["model"];
  const std::string name = config::get_string(init.model_config, "name", config_path + ": model");
  init.tokenizer = text::load_tokenizer(root.tokenizer());
  const std::string weights = root.weights();
  if (!fs::exists(weights)) fail(dir, "init run has no model.safetensors");
  const formats::SafetensorsFile file = formats::load_safetensors(weights);
  const std::string prefix = name + ".";
  for (const auto& n : file.names) {
    if (n.rfind(prefix, 0) != 0) continue;
    init.weights.names.push_back(n.substr(prefix.size()));
    init.weights.tensors[init.weights.names.back()] = file.tensors.at(n);
  }
  if (init.weights.names.empty()) init.weights = file;  // a bare encoder file
  // A half-precision copy (bf16 or fp16) starts a float32 model, as from_pretrained
  // upcasts such checkpoints; other dtype mismatches stay errors of the loader.
  for (auto& [n, t] : init.weights.tensors) {
    if (t.scalar_type() == torch::kBFloat16 || t.scalar_type() == torch::kHalf) t = t.to(torch::kFloat);
  }
  return init;
}

// config.json's model_type of the run's encoder: the family's, or the BERT body's
// section's or preset's (distilbert-base); the vocabulary plays no part.
std::string encoder_model_type(const Config& config) {
  const hf::EncoderFamily* family = hf::family_named(config.model.at("name").get<std::string>());
  if (family != nullptr) return family->model_type;
  return models::bert_options_from_model_config(config.model, int64_t{1} << 40, "model").model_type();
}

std::function<std::string(const std::string&)> peft_file_names(const Config& config) {
  const hf::EncoderFamily* family = hf::family_named(config.model.at("name").get<std::string>());
  if (family != nullptr) return family->to_hf_name;
  // The BERT body under the names of the architecture it stands for (roberta.*, distilbert's
  // transformer.layer.N.attention.q_lin, ...). The function takes module paths as well as
  // tensor names, so the renaming works on whole path components.
  const std::string model_type = encoder_model_type(config);
  if (model_type == "bert") return nullptr;
  return [model_type](const std::string& name) {
    const std::string hf = models::to_hf_name(model_type, models::HfBertArchitecture::kSequenceClassification, name + ".");
    return hf.substr(0, hf.size() - 1);
  };
}

std::shared_ptr<peft::PeftModel> make_peft_model(const TextClassifier& model, const Config& config) {
  auto peft = std::make_shared<peft::PeftModel>(model.ptr());
  peft->set_file_names(peft_file_names(config));
  peft->set_model_type(encoder_model_type(config));
  return peft;
}

RunModel build_run_model(const Config& config, int64_t vocab_size, int64_t num_labels,
                         const std::string& base_weights, const formats::SafetensorsFile* encoder_init) {
  auto encoder = models::make_text_encoder(config.model, vocab_size, "model");
  if (encoder_init != nullptr) load_encoder_init(*encoder, *encoder_init, config.init + "/model.safetensors");
  TextClassifierOptions options(num_labels);
  options.pooling(config.head.pooling)
      .dropout(config.head.dropout)
      .temperature(config.head.temperature)
      .entropy_weight(config.head.entropy_weight)
      .entropy_target(config.head.entropy_target);
  RunModel run;
  run.model = TextClassifier(encoder, config.model.at("name").get<std::string>(), options);
  run.model->set_hf_module_paths(peft_file_names(config));
  if (!peft_enabled(config)) return run;
  if (!base_weights.empty()) {
    formats::load_module_tensors(*run.model, formats::load_safetensors(base_weights), base_weights);
  }
  run.peft = make_peft_model(run.model, config);
  run.peft->add_adapter("default", peft::with_saved_module(config.peft, "classifier"), "peft");
  return run;
}

LoadedRun load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device,
                   const std::vector<std::string>& extra_adapters) {
  LoadedRun run;
  run.config = engine::RunDir(run_dir).read_config(overrides);
  run.typed = parse_config(run.config);
  run.tokenizer = text::load_tokenizer(engine::RunDir(run_dir).tokenizer());
  run.labels = load_label_map(engine::RunDir(run_dir).labels());
  run.max_length = run.typed.data.max_length;
  // The bare model; a PEFT run's adapters come back exactly as they were saved.
  Config base_config = run.typed;
  base_config.peft = nlohmann::json{{"method", nullptr}};
  run.model = build_run_model(base_config, run.tokenizer->vocab_size(), static_cast<int64_t>(run.labels.size()));
  if (peft_enabled(run.typed)) run.model.peft = make_peft_model(run.model.model, run.typed);
  engine::load_run_weights(run_dir, *run.model.model, run.model.peft.get(), extra_adapters);
  run.model.model->to(engine::run_device(run.config, device));
  run.model.model->eval();
  return run;
}

}  // namespace attune::classification
