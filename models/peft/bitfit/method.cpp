#include "models/peft/bitfit/method.h"

#include "models/peft/validate.h"

namespace attune::peft {
namespace {

using nlohmann::json;

class BitFitMethod : public Method {
 public:
  std::string name() const override { return "bitfit"; }
  std::string peft_type() const override { return "ATTUNE_BITFIT"; }
  json defaults() const override { return {{"modules_to_save", nullptr}}; }
  void validate(json& out, const std::string& key) const override { check_shared_keys(out, key); }
  std::unique_ptr<Attachment> attach(torch::nn::Module&, const std::string&, const json&,
                                     const std::string&) const override {
    return std::make_unique<Attachment>();
  }
  bool trains_all_biases() const override { return true; }
};

}  // namespace

std::unique_ptr<Method> make_bitfit() { return std::make_unique<BitFitMethod>(); }

}  // namespace attune::peft
