#include "models/registry.h"

#include "core/error.h"
#include "models/bert/bert.h"
#include "core/config.h"
#include "core/schema.h"
#include "models/bert/model_config.h"
#include "models/deberta/deberta.h"
#include "models/deberta/masked_lm.h"
#include "models/bert/masked_lm.h"
#include "models/modernbert/masked_lm.h"
#include "models/deberta/model_config.h"
#include "models/modernbert/model_config.h"
#include "models/modernbert/modernbert.h"

#include <map>
#include <mutex>

namespace attune::models {
namespace {

std::shared_ptr<TextEncoderImpl> make_bert(const nlohmann::json& cfg, int64_t vocab_size, const std::string& key) {
  const BertModelConfig section = parse_bert_model_config(cfg, key);
  return std::make_shared<BertModelImpl>(bert_options(section, vocab_size, key), section.preset);
}

std::shared_ptr<TextEncoderImpl> make_modernbert(const nlohmann::json& cfg, int64_t vocab_size, const std::string& key) {
  const ModernBertModelConfig section = parse_modernbert_model_config(cfg, key);
  return std::make_shared<ModernBertModelImpl>(modernbert_options(section, vocab_size, key), section.preset);
}

std::shared_ptr<TextEncoderImpl> make_deberta(const nlohmann::json& cfg, int64_t vocab_size, const std::string& key) {
  const DebertaModelConfig section = parse_deberta_model_config(cfg, key);
  return std::make_shared<DebertaV2ModelImpl>(deberta_options(section, vocab_size, key), section.preset);
}

// The vocabulary a cheap check judges a section against, before the tokenizer is known:
// the section's own vocab_size where it names one (its rows must hold the tokenizer's),
// else one large enough for any pad_token_id.
int64_t checked_vocabulary(const nlohmann::json& cfg) {
  const auto it = cfg.find("vocab_size");
  if (it != cfg.end() && it->is_number_integer() && it->get<int64_t>() > 0) return it->get<int64_t>();
  return int64_t{1} << 40;
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, TextEncoderFactory> factories;
  // Optional cheap checks of a config section, by model name.
  std::map<std::string, std::function<void(const nlohmann::json&, const std::string&)>> checks;
};

// Built-ins are registered here, on first use, rather than by static initialisers in
// their own translation units: object libraries give no initialisation order.
Registry& registry() {
  static Registry* instance = [] {
    auto* r = new Registry;
    r->factories["bert"] = make_bert;
    r->checks["bert"] = [](const nlohmann::json& cfg, const std::string& key) {
      // The vocabulary is not known yet: one large enough for any pad_token_id, so that
      // only the section's own values are judged (options allocate nothing).
      bert_options_from_model_config(cfg, /*vocab_size=*/int64_t{1} << 40, key);
    };
    r->factories["modernbert"] = make_modernbert;
    r->checks["modernbert"] = [](const nlohmann::json& cfg, const std::string& key) {
      modernbert_options_from_model_config(cfg, checked_vocabulary(cfg), key);
    };
    r->factories["deberta"] = make_deberta;
    r->checks["deberta"] = [](const nlohmann::json& cfg, const std::string& key) {
      deberta_options_from_model_config(cfg, checked_vocabulary(cfg), key);
    };
    return r;
  }();
  return *instance;
}

}  // namespace

void register_text_encoder(const std::string& name, TextEncoderFactory factory) {
  TORCH_CHECK(!name.empty() && factory, "register_text_encoder: needs a name and a factory");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.factories[name] = std::move(factory);
}

std::vector<std::string> text_encoder_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& entry : r.factories) names.push_back(entry.first);
  return names;
}

namespace {

std::string checked_name(const nlohmann::json& model_cfg, const std::string& key) {
  if (!model_cfg.is_object()) fail(key, "must be a JSON object, got " + model_cfg.dump());
  const auto it = model_cfg.find("name");
  if (it == model_cfg.end() || !it->is_string()) {
    fail(key + ".name", "must name a model (known: " + config::join(text_encoder_names()) + ")");
  }
  return it->get<std::string>();
}

}  // namespace

void check_text_encoder_config(const nlohmann::json& model_cfg, const std::string& key) {
  const std::string name = checked_name(model_cfg, key);
  std::function<void(const nlohmann::json&, const std::string&)> check;
  bool known = false;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    known = r.factories.count(name) > 0;
    const auto found = r.checks.find(name);
    if (found != r.checks.end()) check = found->second;
  }
  if (!known) {
    fail(key + ".name", "unknown model '" + name + "' (known: " + config::join(text_encoder_names()) + ")");
  }
  if (check) check(model_cfg, key);
}

std::shared_ptr<TextEncoderImpl> make_text_encoder(const nlohmann::json& model_cfg, int64_t vocab_size,
                                                   const std::string& key) {
  const std::string name = checked_name(model_cfg, key);
  TextEncoderFactory factory;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto found = r.factories.find(name);
    if (found != r.factories.end()) factory = found->second;
  }
  if (!factory) {
    fail(key + ".name", "unknown model '" + name + "' (known: " + config::join(text_encoder_names()) + ")");
  }
  return factory(model_cfg, vocab_size, key);
}

std::shared_ptr<MaskedLanguageModelImpl> make_masked_lm(const nlohmann::json& model_cfg, int64_t vocab_size,
                                                        const std::string& key) {
  const std::string name = checked_name(model_cfg, key);
  if (name == "bert") {
    const BertModelConfig section = parse_bert_model_config(model_cfg, key);
    return std::make_shared<BertForMaskedLMImpl>(bert_options(section, vocab_size, key), section.preset);
  }
  if (name == "modernbert") {
    const ModernBertModelConfig section = parse_modernbert_model_config(model_cfg, key);
    return std::make_shared<ModernBertForMaskedLMImpl>(modernbert_options(section, vocab_size, key), section.preset);
  }
  if (name == "deberta") {
    const DebertaModelConfig section = parse_deberta_model_config(model_cfg, key);
    return std::make_shared<DebertaV2ForMaskedLMImpl>(deberta_options(section, vocab_size, key), section.preset);
  }
  fail(key + ".name", "'" + name + "' has no masked-LM head here (masked LMs: bert, modernbert, deberta)");
}

}  // namespace attune::models
