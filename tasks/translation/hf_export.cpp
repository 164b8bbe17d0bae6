#include "tasks/translation/hf_export.h"

#include "tasks/engine/peft_run.h"
#include "core/error.h"
#include "core/files.h"
#include "data/text/marian_tokenizer.h"
#include "models/common/parameters.h"
#include "models/seq2seq/hf_marian.h"
#include "tasks/engine/run_dir.h"
#include "tasks/translation/config.h"
#include "tasks/translation/init.h"
#include "tasks/translation/task.h"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace attune::translation {

nlohmann::json export_hf(const std::string& run_dir, const std::string& out_dir) {
  io::require_empty_output_dir(out_dir);
  LoadedRun run = load_run(run_dir, {}, "cpu");
  const nlohmann::json peft = engine::merge_for_hf(run_dir, run.peft.get());
  const auto* marian = dynamic_cast<const text::MarianTokenizer*>(run.tokenizer.get());
  if (!marian) {
    fail(run_dir, "has attune's joint SentencePiece tokenizer, which transformers' MarianTokenizer cannot read "
                  "(it needs source.spm, target.spm and vocab.json); only runs started with init=hf:DIR export");
  }
  try {
    models::write_hf_marian(out_dir, *run.model, marian->eos_id());
  } catch (const UserError& e) {
    fail(run_dir, std::string("cannot export to transformers: ") + e.what());
  }
  marian->save_hf(out_dir);
  return {{"from", run_dir},
          {"out", out_dir},
          {"architecture", "MarianMTModel"},
          {"tokenizer", "MarianTokenizer"},
          {"separate_vocabs", marian->separate_vocabs()},
          {"parameters", models::parameter_count(*run.model)},
          {"peft", peft}};
}

nlohmann::json import_hf(const std::string& hf_dir, const std::string& out_dir, std::ostream& log) {
  io::require_empty_output_dir(out_dir);
  nlohmann::json config = default_config();
  const std::string source = "hf:" + fs::absolute(hf_dir).lexically_normal().string();
  const MarianInit init = apply_init(config, source, log);
  config["run_dir"] = out_dir;
  config["init"] = source;
  // Training limits that fit the checkpoint's positions (source + EOS, BOS + target).
  const int64_t longest = std::min<int64_t>(128, init.checkpoint.options.max_positions() - 1);
  config["data"]["max_source_tokens"] = longest;
  config["data"]["max_target_tokens"] = longest;
  parse_config(config);
  const engine::RunDir out(out_dir);
  fs::create_directories(out_dir);
  init.tokenizer->save(out.tokenizer());
  formats::NamedTensors tensors;
  for (const std::string& name : init.checkpoint.tensors.names) tensors.emplace_back(name, init.checkpoint.tensors.tensors.at(name));
  formats::save_safetensors(out.weights(), tensors);
  // Last: a directory without config.json is visibly unfinished.
  io::write_json_atomic(out.config(), config);
  return {{"from", hf_dir},
          {"out", out_dir},
          {"task", "translation"},
          {"architecture", "MarianMTModel"},
          {"separate_vocabs", init.tokenizer->separate_vocabs()}};
}

}  // namespace attune::translation
