#include "tasks/translation/peft.h"

#include "core/error.h"
#include "core/files.h"
#include "models/peft/config.h"
#include "tasks/engine/run_dir.h"
#include "tasks/translation/task.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::translation {

std::shared_ptr<peft::PeftModel> add_run_adapter(const models::Seq2SeqTransformer& model, const nlohmann::json& resolved) {
  auto adapters = std::make_shared<peft::PeftModel>(model.ptr());
  adapters->add_adapter("default", resolved, "peft");
  return adapters;
}

nlohmann::json merge_run(const std::string& run_dir, const std::string& out_dir, const std::vector<std::string>& adapters) {
  LoadedRun run = load_run(run_dir, {}, "cpu", adapters);
  if (!run.peft) fail(run_dir, "not a PEFT run: its model.safetensors already holds every weight");
  const std::string adapter = run.peft->active();
  const nlohmann::json method = run.peft->config(adapter)["method"];
  const peft::ParameterCount before = run.peft->count();
  run.peft->merge_and_unload();
  io::require_empty_output_dir(out_dir);
  fs::create_directories(out_dir);
  nlohmann::json config = run.config;
  config["peft"] = peft::default_section();
  config["run_dir"] = out_dir;
  const engine::RunDir from(run_dir), to(out_dir);
  io::write_json_atomic(to.config(), config);
  fs::copy(from.tokenizer(), to.tokenizer(), fs::copy_options::recursive);
  to.save_weights(*run.model);
  return {{"run_dir", run_dir}, {"out", out_dir}, {"adapter", adapter}, {"method", method},
          {"adapter_params", before.trainable}, {"params", before.total - before.trainable}};
}

}  // namespace attune::translation
