// `attune models`: the model presets one can train, and the pretrained runs this user
// has (run directories under $ATTUNE_MODELS, default ~/.cache/attune/models, and --dir).
#include "core/error.h"
#include "core/files.h"
#include "tasks/engine/run_dir.h"
#include "models/bert/model_config.h"
#include "models/bert/hf_names.h"
#include "models/bert/presets.h"
#include "models/deberta/hf_checkpoint.h"
#include "models/modernbert/hf_checkpoint.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::cli {
namespace {

constexpr int64_t kReferenceVocab = 30522;  // bert-base-uncased's, so counts compare with published ones

std::string default_models_dir() {
  if (const char* env = std::getenv("ATTUNE_MODELS"); env && *env) return env;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path cache = xdg && *xdg ? fs::path(xdg) : fs::path(home ? home : ".") / ".cache";
  return (cache / "attune" / "models").string();
}

std::string millions(int64_t n) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << n / 1e6 << "M";
  return s.str();
}

nlohmann::json presets() {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : models::bert_preset_names()) {
    const models::BertOptions o = models::bert_preset(name, kReferenceVocab);
    out.push_back({{"name", name},
                   {"model", "bert"},
                   {"model_type", o.model_type()},
                   {"layers", o.num_hidden_layers()},
                   {"hidden", o.hidden_size()},
                   {"heads", o.num_attention_heads()},
                   {"intermediate", o.intermediate_size()},
                   {"parameters", models::bert_parameter_count(o)}});
  }
  return out;
}

// The Hugging Face architectures attune's BERT body imports and exports (convert
// --from-hf/--to-hf, init=hf:DIR), by model_type.
nlohmann::json architectures() {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& type : models::bert_model_types()) {
    nlohmann::json classes = nlohmann::json::array();
    for (auto a : {models::HfBertArchitecture::kBertModel, models::HfBertArchitecture::kSequenceClassification,
                   models::HfBertArchitecture::kMaskedLM}) {
      if (type == "electra" && a == models::HfBertArchitecture::kMaskedLM) continue;  // the generator
      classes.push_back(models::hf_class_name(type, a));
    }
    out.push_back({{"model_type", type}, {"classes", classes}});
  }
  // The families with bodies of their own (model.name modernbert, deberta).
  for (const auto& [type, class_name] :
       std::vector<std::pair<std::string, std::function<std::string(models::HfBertArchitecture)>>>{
           {"modernbert", models::modernbert_class_name}, {"deberta-v2", models::deberta_class_name}}) {
    nlohmann::json classes = nlohmann::json::array();
    for (auto a : {models::HfBertArchitecture::kBertModel, models::HfBertArchitecture::kSequenceClassification,
                   models::HfBertArchitecture::kMaskedLM}) {
      classes.push_back(class_name(a));
    }
    out.push_back({{"model_type", type}, {"classes", classes}});
  }
  return out;
}

// The pretrained Vision Transformers image classification starts from (init=hf:DIR or
// timm:FILE|DIR, models/vit/checkpoint.h); an image run goes back to transformers with
// `attune convert --run RUN --to-hf DIR` (ViTForImageClassification), not to timm, and a
// ViTForImageClassification folder becomes a run with `attune convert --from-hf`.
nlohmann::json image_imports() {
  return nlohmann::json::array(
      {{{"init", "hf:DIR"}, {"model_type", "vit"}, {"classes", {"ViTModel", "ViTForImageClassification"}}},
       {{"init", "timm:FILE|DIR"}, {"model_type", "timm"}, {"classes", {"VisionTransformer"}}}});
}

// The pretrained translators translation starts from (init=hf:DIR, an OPUS-MT folder,
// models/seq2seq/hf_marian.h); runs started from one go back with `attune convert --to-hf`.
nlohmann::json translation_imports() {
  return nlohmann::json::array(
      {{{"init", "hf:DIR"}, {"model_type", "marian"}, {"classes", {"MarianMTModel", "MarianTokenizer"}}}});
}

// One line an import: "  hf:DIR        vit   ViTModel ViTForImageClassification".
void print_imports(const nlohmann::json& imports) {
  for (const auto& a : imports) {
    std::cout << "  " << std::left << std::setw(14) << a["init"].get<std::string>() << std::setw(7)
              << a["model_type"].get<std::string>() << std::right;
    for (const auto& c : a["classes"]) std::cout << " " << c.get<std::string>();
    std::cout << "\n";
  }
}

// The headline metrics of a run's results.json: held-out masked-LM numbers for
// pretraining runs, test (else validation) accuracy for classifiers.
nlohmann::json headline_metrics(const nlohmann::json& results) {
  nlohmann::json m = nlohmann::json::object();
  for (const char* split : {"test", "valid"}) {
    if (!results.contains(split) || !results[split].is_object()) continue;
    for (const char* key : {"masked_accuracy", "perplexity", "accuracy", "macro_f1"}) {
      if (results[split].contains(key)) m[std::string(split) + "_" + key] = results[split][key];
    }
    if (!m.empty()) break;
  }
  return m;
}

std::optional<nlohmann::json> describe_run(const fs::path& dir) {
  const engine::RunDir run_dir(dir.string());
  if (!fs::exists(run_dir.config()) || !fs::exists(run_dir.weights())) return std::nullopt;
  nlohmann::json config;
  try {
    config = io::read_json(run_dir.config());
  } catch (const UserError&) {
    return std::nullopt;  // not ours, or damaged: a listing should not stop on it
  }
  if (!config.is_object() || !config.contains("model") || !config["model"].is_object()) return std::nullopt;
  const nlohmann::json& model = config["model"];
  nlohmann::json run = {{"path", dir.string()},
                        {"task", config.value("task", "?")},
                        {"model", model.value("name", "?")},
                        {"preset", model.contains("preset") ? model["preset"] : nlohmann::json(nullptr)},
                        {"layers", model.value("num_layers", int64_t{0})},
                        {"hidden", model.value("hidden_size", int64_t{0})}};
  if (fs::exists(run_dir.results())) {
    try {
      run["metrics"] = headline_metrics(io::read_json(run_dir.results()));
    } catch (const UserError&) {
    }
  }
  return run;
}

nlohmann::json find_runs(const std::vector<std::string>& roots) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& root : roots) {
    if (!fs::is_directory(root)) continue;
    if (auto run = describe_run(root)) runs.push_back(*run);
    std::vector<fs::path> children;
    for (const auto& e : fs::directory_iterator(root)) {
      if (e.is_directory()) children.push_back(e.path());
    }
    std::sort(children.begin(), children.end());
    for (const auto& c : children) {
      if (auto run = describe_run(c)) runs.push_back(*run);
    }
  }
  return runs;
}

}  // namespace

int models_command(const Args& args) {
  cxxopts::Options options("attune models",
                           "List model presets (parameters for a 30522-token vocabulary) and the pretrained runs "
                           "under $ATTUNE_MODELS (default ~/.cache/attune/models) and --dir.");
  options.add_options()
      ("dir", "Another directory holding run directories, or a run directory (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("json", "Print one JSON object instead of tables", cxxopts::value<bool>()->default_value("false"));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  std::vector<std::string> roots = {default_models_dir()};
  if (parsed.count("dir")) {
    for (const auto& d : parsed["dir"].as<std::vector<std::string>>()) {
      if (!fs::is_directory(d)) fail("--dir", "'" + d + "' is not a directory");
      roots.push_back(d);
    }
  }
  const nlohmann::json table = presets();
  const nlohmann::json hf = architectures();
  const nlohmann::json images = image_imports();
  const nlohmann::json translators = translation_imports();
  const nlohmann::json runs = find_runs(roots);
  if (parsed["json"].as<bool>()) {
    std::cout << nlohmann::json{{"presets", table}, {"architectures", hf}, {"image_imports", images},
                                  {"translation_imports", translators}, {"runs", runs}}.dump(2)
              << std::endl;
    return 0;
  }
  std::cout << "presets (model bert, vocabulary " << kReferenceVocab << "):\n"
            << "  name                         type        layers  hidden  heads  parameters\n";
  for (const auto& p : table) {
    std::cout << "  " << std::left << std::setw(29) << p["name"].get<std::string>() << std::setw(11)
              << p["model_type"].get<std::string>() << std::right << std::setw(7)
              << p["layers"].get<int64_t>() << std::setw(8) << p["hidden"].get<int64_t>() << std::setw(7)
              << p["heads"].get<int64_t>() << std::setw(12) << millions(p["parameters"].get<int64_t>()) << "\n";
  }
  std::cout << "\nHugging Face architectures (attune convert --from-hf / --to-hf, init=hf:DIR):\n";
  for (const auto& a : hf) {
    std::cout << "  " << std::left << std::setw(12) << a["model_type"].get<std::string>() << std::right;
    for (const auto& c : a["classes"]) std::cout << " " << c.get<std::string>();
    std::cout << "\n";
  }
  std::cout << "\npretrained ViTs (attune train --task image-classification --set init=...; runs export with "
               "attune convert --to-hf as ViTForImageClassification, which attune convert --from-hf makes a run of):\n";
  print_imports(images);
  std::cout << "\npretrained translators (attune train --task translation --set init=...; runs export with "
               "attune convert --to-hf as MarianMTModel + MarianTokenizer):\n";
  print_imports(translators);
  std::cout << "\npretrained runs (" << roots.front();
  for (size_t i = 1; i < roots.size(); ++i) std::cout << ", " << roots[i];
  std::cout << "):\n";
  if (runs.empty()) std::cout << "  none (attune pretrain --set run_dir=" << (fs::path(roots.front()) / "NAME").string() << ")\n";
  for (const auto& r : runs) {
    std::cout << "  " << r["path"].get<std::string>() << "  task=" << r["task"].get<std::string>()
              << " model=" << r["model"].get<std::string>();
    if (r["preset"].is_string()) std::cout << "/" << r["preset"].get<std::string>();
    std::cout << " (" << r["layers"].get<int64_t>() << "x" << r["hidden"].get<int64_t>() << ")";
    if (r.contains("metrics")) {
      for (const auto& [k, v] : r["metrics"].items()) std::cout << " " << k << "=" << v.dump();
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace attune::cli
