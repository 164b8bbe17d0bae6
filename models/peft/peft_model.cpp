#include "models/peft/peft_model.h"

#include "core/error.h"
#include "core/files.h"
#include "models/attention/attention.h"
#include "models/common/positions_after_prefix.h"
#include "models/peft/config.h"

#include <filesystem>
#include <iomanip>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace attune::peft {
namespace {

using nlohmann::json;
const std::string kPrefix = "base_model.model.";

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// PEFT's rule: a list matches a path equal to an entry or ending in "." + entry; a
// string is a regular expression the whole path must match.
class ModuleMatcher {
 public:
  ModuleMatcher(const json& targets, const std::string& where) : targets_(targets) {
    if (targets.is_string()) {
      try {
        regex_ = std::regex(targets.get<std::string>(), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        fail(where, "invalid regular expression '" + targets.get<std::string>() + "': " + e.what());
      }
    }
  }
  bool operator()(const std::string& path) const {
    if (targets_.is_null()) return false;
    if (targets_.is_string()) return std::regex_match(path, regex_);
    for (const auto& t : targets_) {
      const std::string name = t.get<std::string>();
      if (path == name || ends_with(path, "." + name)) return true;
    }
    return false;
  }

 private:
  json targets_;
  std::regex regex_;
};

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
  a.config = resolved;
  const std::string method = resolved.at("method").get<std::string>();
  if (method == "prefix_tuning") {
    attach_prefix(name, a, key);
  } else if (method != "bitfit") {
    attach_linear_adapters(name, a, key);
  }
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

void PeftModel::attach_linear_adapters(const std::string& name, Adapter& a, const std::string& key) {
  const json& c = a.config;
  const std::string method = c.at("method").get<std::string>();
  const ModuleMatcher targets(c.at("target_modules"), key + ".target_modules");
  const ModuleMatcher keep(c.value("modules_to_save", json()), key + ".modules_to_save");
  const ModuleMatcher feedforward(c.value("feedforward_modules", json()), key + ".feedforward_modules");
  if (method == "ia3") {
    // PEFT requires feed-forward modules to be a subset of the targets.
    for (const auto& item : root_->named_modules("", false)) {
      if (item.value()->as<models::LinearImpl>() && feedforward(item.key()) && !targets(item.key())) {
        fail(key + ".feedforward_modules", "'" + item.key() + "' is not among target_modules");
      }
    }
  }
  const torch::Device device = root_->parameters().empty() ? torch::Device(torch::kCPU) : root_->parameters().front().device();
  std::vector<std::string> inside;  // paths of existing adapters, never targets themselves
  for (const auto& item : root_->named_modules("", false)) {
    if (auto* linear = item.value()->as<models::LinearImpl>()) {
      for (const auto& [n, ad] : linear->adapters()) inside.push_back(item.key() + "." + n);
    }
  }
  std::vector<std::pair<std::string, AdaLoraAdapter>> svd_layers;
  for (const auto& item : root_->named_modules("", false)) {
    const std::string& path = item.key();
    auto* linear = item.value()->as<models::LinearImpl>();
    if (linear == nullptr || !targets(path) || keep(path) || starts_with(path, "prompt_encoder")) continue;
    bool nested = false;
    for (const auto& p : inside) nested = nested || path == p || starts_with(path, p + ".");
    if (nested) continue;
    const int64_t in = linear->options.in_features(), out = linear->options.out_features();
    std::shared_ptr<models::LinearAdapterImpl> module;
    if (method == "lora") {
      module = LoraAdapter(in, out,
                           LoraOptions(c.at("r").get<int64_t>(), c.at("lora_alpha").get<double>())
                               .dropout(c.at("lora_dropout").get<double>())
                               .use_rslora(c.at("use_rslora").get<bool>()))
                   .ptr();
    } else if (method == "adalora") {
      AdaLoraAdapter svd(in, out, c.at("init_r").get<int64_t>(), c.at("lora_alpha").get<double>(),
                         c.at("lora_dropout").get<double>());
      svd_layers.emplace_back(path, svd);
      module = svd.ptr();
    } else if (method == "ia3") {
      module = Ia3Adapter(in, out, feedforward(path)).ptr();
    } else if (method == "bottleneck") {
      const int64_t size = std::max<int64_t>(1, out / c.at("reduction_factor").get<int64_t>());
      module = BottleneckAdapter(out, size,
                                 models::parse_activation(c.at("non_linearity").get<std::string>(), key + ".non_linearity"))
                   .ptr();
    } else {
      TORCH_CHECK(false, "PeftModel: method '", method, "' has no layer adapter");
    }
    module->to(device);
    linear->add_adapter(name, module);
    a.layers.emplace_back(path, linear);
  }
  if (a.layers.empty()) {
    std::string example;
    for (const auto& item : root_->named_modules("", false)) {
      if (example.empty() && item.value()->as<models::LinearImpl>()) example = item.key();
    }
    fail(key + ".target_modules", c.at("target_modules").dump() + " matches no linear layer of the model" +
                                      (example.empty() ? "" : " (paths look like '" + example + "')"));
  }
  if (method == "adalora") {
    AdaLoraSchedule s;
    s.init_r = c.at("init_r").get<int64_t>();
    s.target_r = c.at("target_r").get<int64_t>();
    s.tinit = c.at("tinit").get<int64_t>();
    s.tfinal = c.at("tfinal").get<int64_t>();
    s.delta_t = c.at("deltaT").get<int64_t>();
    s.beta1 = c.at("beta1").get<double>();
    s.beta2 = c.at("beta2").get<double>();
    a.allocator = std::make_unique<RankAllocator>(std::move(svd_layers), s);
  }
}

void PeftModel::attach_prefix(const std::string& name, Adapter& a, const std::string& key) {
  std::vector<models::MultiHeadAttentionImpl*> attentions;
  for (const auto& module : root_->modules(false)) {
    if (auto* mha = module->as<models::MultiHeadAttentionImpl>()) attentions.push_back(mha);
  }
  if (attentions.empty()) fail(key + ".method", "prefix tuning needs a model with attention layers");
  const int64_t hidden = attentions.front()->options().embed_dim();
  const json& c = a.config;
  const int64_t layers = static_cast<int64_t>(attentions.size());
  // A loaded PEFT config states the shape it was trained for.
  const std::pair<const char*, int64_t> expected[] = {
      {"num_layers", layers}, {"token_dim", hidden}, {"num_attention_heads", attentions.front()->options().num_heads()}};
  for (const auto& [field, value] : expected) {
    if (c.contains(field) && !c[field].is_null() && c[field] != value) {
      fail(key + "." + field, c[field].dump() + " does not match the model (" + std::to_string(value) + ")");
    }
  }
  PrefixEncoderOptions o(c.at("num_virtual_tokens").get<int64_t>(), layers, hidden);
  o.prefix_projection(c.at("prefix_projection").get<bool>())
      .encoder_hidden_size(c.at("encoder_hidden_size").is_null() ? hidden : c.at("encoder_hidden_size").get<int64_t>())
      .zero_init(c.at("init_weights").is_string());
  a.prefix = PrefixEncoder(o);
  if (!root_->named_children().contains("prompt_encoder")) {
    root_->register_module("prompt_encoder", std::make_shared<torch::nn::Module>());
  }
  root_->named_children()["prompt_encoder"]->register_module(name, a.prefix);
  if (!root_->parameters().empty()) a.prefix->to(root_->parameters().front().device());
}

void PeftModel::own_tensors(Adapter& a, const std::string& key) {
  const json& c = a.config;
  const std::string method = c.at("method").get<std::string>();
  const ModuleMatcher keep(c.value("modules_to_save", json()), key + ".modules_to_save");
  const std::string bias = c.value("bias", std::string("none"));
  std::vector<std::string> adapter_paths = {"prompt_encoder"};
  for (const auto& item : root_->named_modules("", false)) {
    if (auto* linear = item.value()->as<models::LinearImpl>()) {
      for (const auto& [n, ad] : linear->adapters()) adapter_paths.push_back(item.key() + "." + n);
    }
  }
  auto inside_adapter = [&](const std::string& name) {
    for (const auto& p : adapter_paths) {
      if (starts_with(name, p + ".")) return true;
    }
    return false;
  };
  std::set<std::string> owned;
  for (const auto& item : root_->named_modules("", false)) {
    if (!keep(item.key()) || inside_adapter(item.key() + ".")) continue;
    for (const auto& p : item.value()->named_parameters(true)) owned.insert(item.key() + "." + p.key());
  }
  if (!c.value("modules_to_save", json()).is_null() && owned.empty()) {
    fail(key + ".modules_to_save", c["modules_to_save"].dump() + " matches no module of the model");
  }
  for (const auto& p : root_->named_parameters(true)) {
    const std::string& n = p.key();
    if (last_component(n) != "bias" || inside_adapter(n)) continue;
    bool take = method == "bitfit" || bias == "all";
    if (bias == "lora_only") {
      for (const auto& [path, layer] : a.layers) take = take || n == path + ".bias";
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
    for (auto& [path, layer] : a.layers) layer->set_active_adapter("");
  }
  set_prefix_everywhere(nullptr);
  if (!name.empty()) {
    Adapter& a = adapter(name);
    for (auto& [path, layer] : a.layers) layer->set_active_adapter(name);
    if (a.prefix) set_prefix_everywhere(a.prefix);
  }
  refresh_trainable();
}

void PeftModel::set_prefix_everywhere(const PrefixEncoder& prefix) {
  int64_t index = 0;
  for (const auto& module : root_->modules(false)) {
    if (auto* mha = module->as<models::MultiHeadAttentionImpl>()) {
      mha->set_prefix(prefix ? std::make_shared<LayerPrefix>(prefix, index++) : nullptr);
    }
    if (auto* positions = dynamic_cast<models::PositionsAfterPrefix*>(module.get())) {
      positions->set_past_length(prefix ? prefix->options().num_virtual_tokens() : 0);
    }
  }
}

void PeftModel::refresh_trainable() {
  for (auto& p : root_->parameters(true)) p.set_requires_grad(false);
  if (active_.empty()) return;
  Adapter& a = adapter(active_);
  for (auto& [path, layer] : a.layers) {
    for (auto& p : layer->adapter(active_)->parameters(true)) p.set_requires_grad(true);
  }
  if (a.prefix) {
    for (auto& p : a.prefix->parameters(true)) p.set_requires_grad(true);
  }
  const std::set<std::string> owned(a.owned.begin(), a.owned.end());
  for (auto& p : root_->named_parameters(true)) {
    if (owned.count(p.key())) p.value().set_requires_grad(true);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> PeftModel::file_keys(const std::string& name) {
  Adapter& a = adapter(name);
  std::vector<std::pair<std::string, torch::Tensor>> keys;
  for (auto& [path, layer] : a.layers) {
    for (const auto& p : layer->adapter(name)->named_parameters(true)) {
      keys.emplace_back(kPrefix + path + "." + p.key(), p.value());
    }
  }
  std::map<std::string, torch::Tensor> live;
  for (const auto& [n, t] : formats::module_tensors(*root_)) live[n] = t;
  // Prompt-learning methods do not wrap the model in a tuner, so PEFT names their
  // modules_to_save one level up: "base_model.classifier.weight".
  const std::string owned_prefix = a.prefix ? "base_model." : kPrefix;
  for (const auto& n : a.owned) {
    // PEFT stores a wrapped layer's own bias under its "base_layer".
    std::string file_name = n;
    for (const auto& [path, layer] : a.layers) {
      if (n == path + ".bias") file_name = path + ".base_layer.bias";
    }
    keys.emplace_back(owned_prefix + file_name, name == active_ ? live.at(n) : a.stash.at(n));
  }
  return keys;
}

formats::NamedTensors PeftModel::adapter_tensors(const std::string& name) {
  Adapter& a = adapter(name);
  formats::NamedTensors out;
  if (a.prefix) {
    torch::NoGradGuard no_grad;
    out.emplace_back("prompt_embeddings", a.prefix->forward().detach());
  }
  // AdaLoRA saves only the ranks it kept, as PEFT's resize_state_dict_by_rank_pattern.
  std::map<std::string, torch::Tensor> kept;
  if (a.allocator && !a.allocator->rank_pattern().is_null()) {
    for (auto& [path, layer] : a.layers) {
      auto* svd = layer->adapter(name)->as<AdaLoraAdapterImpl>();
      kept[kPrefix + path + ".lora_"] = svd->lora_E.view(-1).ne(0).nonzero().view(-1);
    }
  }
  for (auto& [key, t] : file_keys(name)) {
    torch::Tensor v = t.detach();
    for (const auto& [stem, index] : kept) {
      if (key == stem + "A" || key == stem + "E") v = v.index_select(0, index);
      if (key == stem + "B") v = v.index_select(1, index);
    }
    out.emplace_back(key, v);
  }
  return out;
}

void PeftModel::save_adapter(const std::string& dir, const std::string& name, const std::string& task_type) {
  Adapter& a = adapter(name);
  json c = to_adapter_config(a.config, task_type);
  if (a.prefix) {
    c["num_layers"] = a.prefix->options().num_layers();
    c["token_dim"] = a.prefix->options().hidden_size();
    c["num_transformer_submodules"] = 1;
    int64_t heads = 0;
    for (const auto& module : root_->modules(false)) {
      if (auto* mha = module->as<models::MultiHeadAttentionImpl>()) heads = mha->options().num_heads();
    }
    c["num_attention_heads"] = heads;
    if (c["encoder_hidden_size"].is_null()) c["encoder_hidden_size"] = a.prefix->options().hidden_size();
  }
  if (a.allocator) {
    c["rank_pattern"] = a.allocator->rank_pattern();
    if (c["total_step"].is_null()) c["total_step"] = 1;  // PEFT refuses a missing total_step
  }
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
  const json rank_pattern = resolved.value("rank_pattern", json());
  resolved.erase("rank_pattern");
  const formats::SafetensorsFile file = formats::load_safetensors(weights_path);
  add_adapter(name, resolved, config_path);
  Adapter& a = adapter(name);
  std::map<std::string, torch::Tensor> targets;
  for (auto& [key, t] : file_keys(name)) targets[key] = t;
  std::vector<std::string> expected;
  for (const auto& [key, t] : targets) expected.push_back(key);
  if (a.prefix) expected.push_back("prompt_embeddings");
  for (const auto& key : expected) {
    if (!file.tensors.count(key)) fail(weights_path, "tensor '" + key + "' missing from the file (the adapter config expects it)");
  }
  torch::NoGradGuard no_grad;
  for (const auto& [key, value] : file.tensors) {
    if (key == "prompt_embeddings" && a.prefix) {
      try {
        a.prefix->load_table(value.to(torch::kFloat));
      } catch (const c10::Error& e) {
        fail(weights_path, std::string(e.what_without_backtrace()).substr(0, 200));
      }
      continue;
    }
    const auto it = targets.find(key);
    if (it == targets.end()) fail(weights_path, "tensor '" + key + "' is not part of this adapter");
    torch::Tensor target = it->second;
    torch::Tensor v = value.to(target.scalar_type());
    // AdaLoRA files hold only the kept ranks: scatter them back into the full-rank tensors.
    if (a.allocator && rank_pattern.is_object()) {
      for (auto& [path, layer] : a.layers) {
        const std::string stem = kPrefix + path + ".lora_";
        if (key != stem + "A" && key != stem + "B" && key != stem + "E") continue;
        const json& flags = rank_pattern.value(path + ".lora_E", json());
        if (!flags.is_array()) fail(config_path, "rank_pattern has no entry '" + path + ".lora_E'");
        std::vector<int64_t> index;
        for (size_t i = 0; i < flags.size(); ++i) {
          if (flags[i].get<bool>()) index.push_back(static_cast<int64_t>(i));
        }
        const int64_t dim = key == stem + "B" ? 1 : 0;
        if (v.dim() != target.dim() || v.size(dim) != static_cast<int64_t>(index.size())) {
          fail(weights_path, "tensor '" + key + "' does not match the rank pattern");
        }
        torch::Tensor full = torch::zeros_like(target);
        full.index_copy_(dim, torch::tensor(index).to(target.device()), v.to(target.device()));
        v = full;
      }
    }
    if (v.sizes() != target.sizes()) {
      std::ostringstream s;
      s << "tensor '" << key << "' has shape " << value.sizes() << ", the model needs " << target.sizes();
      fail(weights_path, s.str());
    }
    target.copy_(v);
  }
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
  if (!active_.empty() && adapter(active_).allocator) {
    for (auto& entry : adapter(active_).allocator->state()) out.push_back(entry);
  }
  return out;
}

void PeftModel::load_state_tensors(const formats::SafetensorsFile& file, const std::string& path) {
  formats::SafetensorsFile model_part;
  std::map<std::string, torch::Tensor> allocator_part;
  for (const auto& [name, t] : file.tensors) {
    if (starts_with(name, "adalora.")) {
      allocator_part[name] = t;
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
  if (!active_.empty() && adapter(active_).allocator) adapter(active_).allocator->load_state(allocator_part);
}

torch::Tensor PeftModel::regularizer() const {
  if (active_.empty()) return {};
  const Adapter& a = adapter(active_);
  const double weight = a.config.value("orth_reg_weight", 0.0);
  if (!a.allocator || weight == 0.0) return {};
  return a.allocator->orthogonal_regularizer() * weight;
}

void PeftModel::after_optimizer_step(int64_t global_step, int64_t total_steps) {
  if (active_.empty()) return;
  Adapter& a = adapter(active_);
  if (!a.allocator) return;
  a.config["total_step"] = total_steps;
  a.allocator->update_and_allocate(global_step, total_steps);
}

const RankAllocator* PeftModel::allocator(const std::string& name) const { return adapter(name).allocator.get(); }

void PeftModel::merge_and_unload() {
  if (!active_.empty()) {
    const std::string method = adapter(active_).config.at("method").get<std::string>();
    if (method == "prefix_tuning" || method == "bottleneck") {
      fail("peft.method", method + " adapters cannot be merged into the base weights (they are not linear in them)");
    }
    for (auto& [path, layer] : adapter(active_).layers) layer->merge();
  }
  for (auto& [name, a] : adapters_) {
    for (auto& [path, layer] : a.layers) layer->drop_adapters();
  }
  set_prefix_everywhere(nullptr);
  if (root_->named_children().contains("prompt_encoder")) root_->unregister_module("prompt_encoder");
  adapters_.clear();
  base_values_.clear();
  active_.clear();
  for (auto& p : root_->parameters(true)) p.set_requires_grad(true);
}

}  // namespace attune::peft
