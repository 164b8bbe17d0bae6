#include "tasks/translation/peft.h"

#include "tasks/engine/peft_run.h"
#include "core/error.h"
#include "core/files.h"
#include "models/peft/config.h"
#include "tasks/engine/run_dir.h"
#include "tasks/translation/task.h"

namespace attune::translation {

std::shared_ptr<peft::PeftModel> make_peft_model(const models::Seq2SeqTransformer& model) {
  auto adapters = std::make_shared<peft::PeftModel>(model.ptr());
  adapters->set_model_type("marian");
  return adapters;
}

std::shared_ptr<peft::PeftModel> add_run_adapter(const models::Seq2SeqTransformer& model, const nlohmann::json& resolved) {
  auto adapters = make_peft_model(model);
  adapters->add_adapter("default", resolved, "peft");
  return adapters;
}

nlohmann::json merge_run(const std::string& run_dir, const std::string& out_dir, const std::vector<std::string>& adapters) {
  LoadedRun run = load_run(run_dir, {}, "cpu", adapters);
  return engine::write_merged_run(run_dir, out_dir, run.config, run.peft.get(), *run.model, {"tokenizer"});
}

}  // namespace attune::translation
