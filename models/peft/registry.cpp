#include "models/peft/registry.h"

#include "core/config.h"
#include "core/error.h"
#include "models/peft/adalora/method.h"
#include "models/peft/bitfit/method.h"
#include "models/peft/bottleneck/method.h"
#include "models/peft/config.h"
#include "models/peft/ia3/method.h"
#include "models/peft/lora/method.h"
#include "models/peft/prefix/method.h"

namespace attune::peft {

const std::map<std::string, std::unique_ptr<Method>>& methods() {
  static const std::map<std::string, std::unique_ptr<Method>> table = [] {
    std::map<std::string, std::unique_ptr<Method>> t;
    const auto add = [&t](std::unique_ptr<Method> m) { t.emplace(m->name(), std::move(m)); };
    add(make_lora());  // LoRA and rsLoRA
    add(make_adalora());
    add(make_ia3());
    add(make_prefix_tuning());
    add(make_bottleneck());
    add(make_bitfit());
    return t;
  }();
  return table;
}

const Method& find_method(const std::string& name, const std::string& where) {
  const auto it = methods().find(name);
  if (it == methods().end()) fail(where, "unknown PEFT method '" + name + "' (known: none, " + config::join(method_names()) + ")");
  return *it->second;
}

}  // namespace attune::peft
