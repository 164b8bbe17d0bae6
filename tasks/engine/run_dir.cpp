#include "tasks/engine/run_dir.h"

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "tasks/engine/metrics_log.h"
#include "tasks/engine/settings.h"
#include "tasks/engine/train_config.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::engine {
namespace {

// Where --overwrite keeps the replaced run until the new one has checked its input.
constexpr const char* kReplaced = ".replaced-run";

// What a run writes, and so what --overwrite may remove.
bool written_by_run(const std::string& name) {
  for (const char* ours : {"config.json", "tokenizer", "labels.json", "model.safetensors", "base_model.safetensors",
                           "adapter_config.json", "adapter_model.safetensors", "metrics.jsonl", "results.json",
                           kEventsFile, "report.html", "samples.jsonl", "misclassified"}) {
    if (name == ours) return true;
  }
  return name.rfind("checkpoint", 0) == 0;
}

}  // namespace

RunDir::RunDir(std::string path) : path_(std::move(path)) {}

std::string RunDir::file(const std::string& name) const { return (fs::path(path_) / name).string(); }
std::string RunDir::config() const { return file("config.json"); }
std::string RunDir::weights() const { return file("model.safetensors"); }
std::string RunDir::base_weights() const { return file("base_model.safetensors"); }
std::string RunDir::tokenizer() const { return file("tokenizer"); }
std::string RunDir::labels() const { return file("labels.json"); }
std::string RunDir::metrics() const { return file("metrics.jsonl"); }
std::string RunDir::results() const { return file("results.json"); }
std::string RunDir::report() const { return file("report.html"); }
std::string RunDir::samples() const { return file("samples.jsonl"); }
std::string RunDir::misclassified() const { return file("misclassified"); }
std::string RunDir::misclassified_index() const { return (fs::path(misclassified()) / "index.jsonl").string(); }

std::string RunDir::prepare_fresh(bool overwrite) const {
  if (fs::exists(path_) && !fs::is_directory(path_)) fail(path_, "run directory path is a file");
  std::string aside;
  if (fs::exists(config())) {
    if (!overwrite) fail(path_, "already holds a run; use --resume to continue it or --overwrite to start over");
    aside = file(kReplaced);
    io::remove_tree(aside);  // left by a process that was killed while it prepared
    fs::create_directories(aside);
    for (const auto& entry : fs::directory_iterator(path_)) {
      const std::string name = entry.path().filename().string();
      if (written_by_run(name)) fs::rename(entry.path(), fs::path(aside) / name);
    }
  }
  fs::create_directories(path_);
  return aside;
}

void RunDir::restore_replaced(const std::string& aside) const {
  if (aside.empty() || !fs::is_directory(aside)) return;
  for (const auto& entry : fs::directory_iterator(path_)) {
    if (written_by_run(entry.path().filename().string())) io::remove_tree(entry.path().string());
  }
  for (const auto& entry : fs::directory_iterator(aside)) fs::rename(entry.path(), fs::path(path_) / entry.path().filename());
  io::remove_tree(aside);
}

void RunDir::discard_replaced(const std::string& aside) const {
  if (!aside.empty()) io::remove_tree(aside);
}

void RunDir::require() const {
  if (!fs::is_directory(path_)) fail(path_, "run directory does not exist");
  if (!fs::exists(config())) fail(path_, "not an attune run directory (no config.json)");
}

nlohmann::json RunDir::read_config(const std::vector<std::string>& overrides) const {
  require();
  nlohmann::json config = io::read_json(this->config());
  config::apply_overrides(config, overrides);
  apply_threads(run_keys(config).threads);
  return config;
}

void RunDir::load_weights(torch::nn::Module& module) const {
  const std::string path = weights();
  if (!fs::exists(path)) fail(path_, "run has no model.safetensors (training did not reach an evaluation)");
  formats::load_module_tensors(module, formats::load_safetensors(path), path);
}

void RunDir::save_weights(torch::nn::Module& module) const {
  formats::save_safetensors(weights(), formats::module_tensors(module));
}

}  // namespace attune::engine
