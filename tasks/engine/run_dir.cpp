#include "tasks/engine/run_dir.h"

#include "core/config.h"
#include "core/error.h"
#include "core/files.h"
#include "data/formats/safetensors.h"
#include "tasks/engine/settings.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::engine {
namespace {

// What a run writes, and so what --overwrite may remove.
bool written_by_run(const std::string& name) {
  for (const char* ours : {"config.json", "tokenizer", "labels.json", "model.safetensors", "metrics.jsonl",
                           "results.json"}) {
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

void RunDir::prepare_fresh(bool overwrite) const {
  if (fs::exists(path_) && !fs::is_directory(path_)) fail(path_, "run directory path is a file");
  if (fs::exists(config())) {
    if (!overwrite) fail(path_, "already holds a run; use --resume to continue it or --overwrite to start over");
    for (const auto& entry : fs::directory_iterator(path_)) {
      if (written_by_run(entry.path().filename().string())) io::remove_tree(entry.path().string());
    }
  }
  fs::create_directories(path_);
}

void RunDir::require() const {
  if (!fs::is_directory(path_)) fail(path_, "run directory does not exist");
  if (!fs::exists(config())) fail(path_, "not an attune run directory (no config.json)");
}

nlohmann::json RunDir::read_config(const std::vector<std::string>& overrides) const {
  require();
  nlohmann::json config = io::read_json(this->config());
  config::apply_overrides(config, overrides);
  apply_threads(config::get_int(config, "threads", "", 0, 1024));
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
