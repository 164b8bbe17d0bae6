// The PEFT methods by name: one registration line each in registry.cpp.
#pragma once
#include "models/peft/method.h"

#include <map>
#include <string>

namespace attune::peft {

// Every method, by name (sorted).
const std::map<std::string, std::unique_ptr<Method>>& methods();
// The method called `name`; fails at `where` naming the known ones.
const Method& find_method(const std::string& name, const std::string& where);

}  // namespace attune::peft
