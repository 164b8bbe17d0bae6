#include "models/peft/peft_model.h"

#include "core/error.h"
#include "core/files.h"
#include "models/peft/config.h"
#include "models/peft/default_targets.h"
#include "models/peft/registry.h"
#include "models/peft/targets.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::peft {
namespace {

using nlohmann::json;

std::string last_component(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string ParameterCount::describe() const {
  std::ostringstream s;
  s << "trainable params: " << with_commas(trainable) << " || all params: " << with_commas(total)
    << " || trainable%: " << std::fixed << std::setprecision(4) << (total ? 100.0 * trainable / total : 0.0);
  return s.str();
}

PeftModel::PeftModel(std::shared_ptr<torch::nn::Module> root) : root_(std::move(root)) {
  TORCH_CHECK(root_, "PeftModel: no model");
  for (const auto& p : root_->named_parameters(true)) {
    if (!p.value().requires_grad()) fixed_.insert(p.key());
  }
}

void PeftModel::set_file_names(FileNames to_file) {
  for (auto& [name, a] : adapters_) a.parts->set_file_names(to_file);
  file_names_for_ = [to_file](const json&, const std::string&) { return to_file; };
}

PeftModel::Adapter& PeftModel::adapter(const std::string& name) {
  const auto it = adapters_.find(name);
  TORCH_CHECK(it != adapters_.end(), "PeftModel: no adapter '", name, "'");
  return it->second;
}

const PeftModel::Adapter& PeftModel::adapter(const std::string& name) const {
  const auto it = adapters_.find(name);
  TORCH_CHECK(it != adapters_.end(), "PeftModel: no adapter '", name, "'");
  return it->second;
}

std::vector<std::string> PeftModel::adapter_names() const {
  std::vector<std::string> names;
  for (const auto& [name, a] : adapters_) names.push_back(name);
  return names;
}

const json& PeftModel::config(const std::string& name) const { return adapter(name).config; }

void PeftModel::add_adapter(const std::string& name, const json& resolved, const std::string& key) {
  static const std::regex kValidName("[A-Za-z0-9_-]+");
  if (!std::regex_match(name, kValidName) || name == "weight" || name == "bias") {
    fail(key, "invalid adapter name '" + name + "' (letters, digits, '_' and '-')");
  }
  if (adapters_.count(name)) fail(key, "adapter '" + name + "' already exists");
  // Base values of tensors that other adapters train go back before the new one attaches.
  set_active("");
  Adapter a;
  a.config = with_default_targets(resolved, model_type_);
  const FileNames file_names = file_names_for_ ? file_names_for_(a.config, key) : nullptr;
  a.method = &find_method(resolved.at("method").get<std::string>(), key + ".method");
  a.parts = a.method->attach(*root_, name, a.config, key);
  a.parts->set_file_names(file_names);
  own_tensors(a, key);
  for (const auto& n : a.owned) {
    if (!base_values_.count(n)) {
      for (const auto& [tn, t] : formats::module_tensors(*root_)) {
        if (tn == n) base_values_[n] = t.detach().clone();
      }
    }
    a.stash[n] = base_values_.at(n).clone();
  }
  adapters_.emplace(name, std::move(a));
  set_active(name);
}

void PeftModel::own_tensors(Adapter& a, const std::string& key) {
  const json& c = a.config;
  const ModuleMatcher keep(c.value("modules_to_save", json()), key + ".modules_to_save", root_.get());
  const std::string bias = c.value("bias", std::string("none"));
  std::vector<std::string> adapter_paths = linear_adapter_paths(*root_);
  adapter_paths.push_back(kPromptEncoder);
  auto inside_adapter = [&](const std::string& name) {
    for (const auto& p : adapter_paths) {
      if (name.rfind(p + ".", 0) == 0) return true;
    }
    return false;
  };
  std::set<std::string> owned;
  for (const auto& item : root_->named_modules("", false)) {
    if (!keep.covers(item.key()) || inside_adapter(item.key() + ".")) continue;
    for (const auto& p : item.value()->named_parameters(true)) owned.insert(item.key() + "." + p.key());
  }
  if (!c.value("modules_to_save", json()).is_null() && owned.empty()) {
    fail(key + ".modules_to_save", c["modules_to_save"].dump() + " matches no module of the model");
  }
  for (const auto& p : root_->named_parameters(true)) {
    const std::string& n = p.key();
    if (last_component(n) != "bias" || inside_adapter(n)) continue;
    bool take = a.method->trains_all_biases() || bias == "all";
    if (bias == "lora_only") {
      for (const auto& [path, layer] : a.parts->layers()) take = take || n == path + ".bias";
    }
    if (take) owned.insert(n);
  }
  a.owned.assign(owned.begin(), owned.end());
}

void PeftModel::set_active(const std::string& name) {
  TORCH_CHECK(name.empty() || adapters_.count(name), "PeftModel: no adapter '", name, "'");
  std::map<std::string, torch::Tensor> live;
  for (const auto& [n, t] : formats::module_tensors(*root_)) live[n] = t;
  torch::NoGradGuard no_grad;
  if (name != active_) {
    if (!active_.empty()) {
      Adapter& old = adapter(active_);
      for (const auto& n : old.owned) {
        old.stash[n] = live.at(n).detach().clone();
        live.at(n).copy_(base_values_.at(n));
      }
    }
    if (!name.empty()) {
      for (const auto& n : adapter(name).owned) live.at(n).copy_(adapter(name).stash.at(n));
    }
  }
  active_ = name;
  for (auto& [n, a] : adapters_) {
    for (auto& [path, layer] : a.parts->layers()) layer->set_active_adapter("");
    a.parts->set_in_effect(false);
  }
  if (!name.empty()) {
    Adapter& a = adapter(name);
    for (auto& [path, layer] : a.parts->layers()) layer->set_active_adapter(name);
    a.parts->set_in_effect(true);
  }
  refresh_trainable();
}

void PeftModel::refresh_trainable() {
  for (auto& p : root_->parameters(true)) p.set_requires_grad(false);
  if (active_.empty()) return;
  Adapter& a = adapter(active_);
  for (auto& [path, layer] : a.parts->layers()) {
    for (auto& p : layer->adapter(active_)->parameters(true)) p.set_requires_grad(true);
  }
  for (auto& p : a.parts->extra_parameters()) p.set_requires_grad(true);
  const std::set<std::string> owned(a.owned.begin(), a.owned.end());
  for (auto& p : root_->named_parameters(true)) {
    if (owned.count(p.key())) p.value().set_requires_grad(true);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> PeftModel::file_keys(const std::string& name) {
  Adapter& a = adapter(name);
  std::vector<std::pair<std::string, torch::Tensor>> keys;
  for (auto& [path, layer] : a.parts->layers()) {
    for (const auto& p : layer->adapter(name)->named_parameters(true)) {
      keys.emplace_back(kModelPrefix + a.parts->file_path(path) + "." + p.key(), p.value());
    }
  }
  std::map<std::string, torch::Tensor> live;
  for (const auto& [n, t] : formats::module_tensors(*root_)) live[n] = t;
  const std::string owned_prefix = a.method->saved_modules_prefix();
  for (const auto& n : a.owned) {
    // PEFT stores a wrapped layer's own bias under its "base_layer".
    std::string file_name = a.parts->file_path(n);
    for (const auto& [path, layer] : a.parts->layers()) {
      if (n == path + ".bias") file_name = a.parts->file_path(path) + ".base_layer.bias";
    }
    keys.emplace_back(owned_prefix + file_name, name == active_ ? live.at(n) : a.stash.at(n));
  }
  return keys;
}

formats::NamedTensors PeftModel::adapter_tensors(const std::string& name) {
  formats::NamedTensors mapped;
  for (auto& [key, t] : file_keys(name)) mapped.emplace_back(key, t.detach());
  return adapter(name).parts->to_file(std::move(mapped));
}

void PeftModel::save_adapter(const std::string& dir, const std::string& name, const std::string& task_type) {
  Adapter& a = adapter(name);
  json c = to_adapter_config(a.config, task_type);
  a.parts->describe(c);
  fs::create_directories(dir);
  formats::save_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), adapter_tensors(name),
                            {{"format", "pt"}});
  io::write_json_atomic((fs::path(dir) / "adapter_config.json").string(), c);
}

void PeftModel::load_adapter(const std::string& dir, const std::string& name) {
  const std::string config_path = (fs::path(dir) / "adapter_config.json").string();
  const std::string weights_path = (fs::path(dir) / "adapter_model.safetensors").string();
  if (!fs::exists(config_path)) fail(dir, "not an adapter directory (no adapter_config.json)");
  if (!fs::exists(weights_path)) fail(dir, "adapter has no adapter_model.safetensors");
  json resolved = from_adapter_config(io::read_json(config_path), config_path);
  const json file_config = resolved;
  for (const auto& k : find_method(resolved.at("method").get<std::string>(), config_path).file_state_keys()) {
    resolved.erase(k);
  }
  const formats::SafetensorsFile file = formats::load_safetensors(weights_path);
  add_adapter(name, resolved, config_path);
  Adapter& a = adapter(name);
  std::map<std::string, torch::Tensor> targets;
  for (auto& [key, t] : file_keys(name)) targets[key] = t;
  std::vector<std::string> expected;
  for (const auto& [key, t] : targets) expected.push_back(key);
  for (const auto& key : a.parts->extra_file_keys()) expected.push_back(key);
  for (const auto& key : expected) {
    if (!file.tensors.count(key)) fail(weights_path, "tensor '" + key + "' missing from the file (the adapter config expects it)");
  }
  torch::NoGradGuard no_grad;
  for (const auto& [key, value] : file.tensors) {
    if (a.parts->load_extra(key, value, weights_path)) continue;
    const auto it = targets.find(key);
    if (it == targets.end()) fail(weights_path, "tensor '" + key + "' is not part of this adapter");
    torch::Tensor target = it->second;
    const torch::Tensor v = a.parts->from_file(key, value.to(target.scalar_type()), target, file_config, config_path,
                                               weights_path);
    if (v.sizes() != target.sizes()) {
      std::ostringstream s;
      s << "tensor '" << key << "' has shape " << value.sizes() << ", the model needs " << target.sizes();
      fail(weights_path, s.str());
    }
    target.copy_(v);
  }
}

formats::NamedTensors PeftModel::base_tensors() {
  const std::string was = active_;
  set_active("");
  std::vector<std::string> adapter_paths = linear_adapter_paths(*root_);
  adapter_paths.push_back(kPromptEncoder);
  formats::NamedTensors base;
  for (const auto& [name, t] : formats::module_tensors(*root_)) {
    bool inside = false;
    for (const auto& p : adapter_paths) inside = inside || name.rfind(p + ".", 0) == 0;
    if (!inside) base.emplace_back(name, t.detach().clone());
  }
  set_active(was);
  return base;
}

ParameterCount PeftModel::count() const {
  ParameterCount c;
  for (const auto& p : root_->parameters(true)) {
    c.total += p.numel();
    if (p.requires_grad()) c.trainable += p.numel();
  }
  return c;
}

formats::NamedTensors PeftModel::state_tensors() const {
  formats::NamedTensors out;
  for (const auto& p : root_->named_parameters(true)) {
    if (p.value().requires_grad()) out.emplace_back(p.key(), p.value());
  }
  if (!active_.empty()) {
    for (auto& entry : adapter(active_).parts->state()) out.push_back(entry);
  }
  return out;
}

void PeftModel::load_state_tensors(const formats::SafetensorsFile& file, const std::string& path) {
  std::vector<std::string> state_prefixes;
  for (const auto& [n, m] : methods()) {
    if (!m->state_prefix().empty()) state_prefixes.push_back(m->state_prefix());
  }
  formats::SafetensorsFile model_part;
  std::map<std::string, torch::Tensor> method_part;
  for (const auto& entry : file.tensors) {
    // Named, not a structured binding: C++17 lambdas (clang's) cannot capture those.
    const std::string& name = entry.first;
    const torch::Tensor& t = entry.second;
    const bool of_method = std::any_of(state_prefixes.begin(), state_prefixes.end(),
                                       [&](const std::string& p) { return name.rfind(p, 0) == 0; });
    if (of_method) {
      method_part[name] = t;
    } else {
      model_part.tensors[name] = t;
      model_part.names.push_back(name);
    }
  }
  for (const auto& p : root_->named_parameters(true)) {
    if (p.value().requires_grad() && !model_part.tensors.count(p.key())) {
      fail(path, "tensor '" + p.key() + "' missing from the file (the model trains it)");
    }
  }
  formats::load_tensor_subset(*root_, model_part, path);
  if (!active_.empty()) adapter(active_).parts->load_state(method_part);
}

torch::Tensor PeftModel::regularizer() const {
  if (active_.empty()) return {};
  const Adapter& a = adapter(active_);
  return a.parts->regularizer(a.config);
}

void PeftModel::after_optimizer_step(int64_t global_step, int64_t total_steps) {
  if (active_.empty()) return;
  Adapter& a = adapter(active_);
  a.parts->after_optimizer_step(global_step, total_steps, a.config);
}

bool PeftModel::capturable() const { return active_.empty() || adapter(active_).parts->capturable(); }

const RankAllocator* PeftModel::allocator(const std::string& name) const { return adapter(name).parts->rank_allocator(); }

bool PeftModel::mergeable(const std::string& name) const { return adapter(name).method->mergeable(); }

void PeftModel::merge_and_unload() {
  if (!active_.empty()) {
    const Adapter& a = adapter(active_);
    if (!a.method->mergeable()) {
      fail("peft.method", a.method->name() + " adapters cannot be merged into the base weights (they are not linear in them)");
    }
    for (auto& [path, layer] : a.parts->layers()) layer->merge();
  }
  for (auto& [name, a] : adapters_) {
    for (auto& [path, layer] : a.parts->layers()) layer->drop_adapters();
    a.parts->unload();
  }
  adapters_.clear();
  base_values_.clear();
  active_.clear();
  // Back to the model as it came: what it kept fixed before adapters (frozen embeddings) stays so.
  for (auto& p : root_->named_parameters(true)) p.value().set_requires_grad(!fixed_.count(p.key()));
}

json PeftModel::merge_for_export() {
  json out = {{"method", nullptr}, {"merged", false}};
  if (active_.empty()) return out;
  out["method"] = adapter(active_).method->name();
  if (mergeable(active_)) {
    merge_and_unload();
    out["merged"] = true;
  }
  return out;
}

}  // namespace attune::peft
