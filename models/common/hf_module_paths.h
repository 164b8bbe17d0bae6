// Implemented by modules whose submodules Hugging Face names differently (attune's BERT
// body standing for DistilBERT), so PEFT target_modules written for transformers
// ("q_lin", "ffn.lin1") select the same layers here.
#pragma once
#include <string>
#include <vector>

namespace attune::models {

class HfModulePaths {
 public:
  virtual ~HfModulePaths() = default;
  // A submodule path relative to this module, as transformers names it (unchanged when the same).
  virtual std::string hf_module_path(const std::string& path) const = 0;
  // Every name transformers has given it, where it renamed modules between releases (ViT);
  // PEFT target_modules in any of them select the layer.
  virtual std::vector<std::string> hf_module_names(const std::string& path) const { return {hf_module_path(path)}; }
};

}  // namespace attune::models
