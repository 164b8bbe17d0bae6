// Using a trained translation run: attune eval, translate and predict.
#include "core/error.h"
#include "tasks/engine/peft_run.h"
#include "tasks/engine/run_dir.h"
#include "models/seq2seq/config.h"
#include "core/config.h"
#include "tasks/engine/settings.h"
#include "tasks/translation/peft.h"
#include "tasks/translation/task.h"
#include "tasks/translation/translate.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::translation {

LoadedRun load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device,
                   const std::vector<std::string>& extra_adapters) {
  LoadedRun run;
  run.config = engine::RunDir(run_dir).read_config(overrides);
  run.typed = parse_config(run.config);
  const std::string tokenizer_dir = engine::RunDir(run_dir).tokenizer();
  run.tokenizer = text::load_translation_tokenizer(tokenizer_dir);
  run.model = models::Seq2SeqTransformer(
      models::seq2seq_options(run.typed.model, run.tokenizer->vocab_size(), run.tokenizer->pad_id(), "model"));
  if (peft_enabled(run.typed)) run.peft = make_peft_model(run.model);
  engine::load_run_weights(run_dir, *run.model, run.peft.get(), extra_adapters);
  run.device = engine::run_device(run.config, device);
  run.model->to(run.device);
  run.model->eval();
  return run;
}

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device,
                            const std::vector<std::string>& adapters) {
  LoadedRun run = load_run(run_dir, overrides, device, adapters);
  const DataConfig& d = run.typed.data;
  const data::ParallelText text = read_parallel_spec(nlohmann::json(data_path), "--data", d.source_key, d.target_key);
  nlohmann::json m = evaluate_text(run.model, *run.tokenizer, text, run.typed, run.device, run.typed.decode.output);
  m["data"] = data_path;
  return m;
}

void translate_run(const std::string& run_dir, std::istream& in, std::ostream& out, const std::string& device,
                   const std::vector<std::string>& overrides, const std::vector<std::string>& adapters) {
  LoadedRun run = load_run(run_dir, overrides, device, adapters);
  const std::vector<std::string> lines = data::read_text_lines(in);
  const DecodeOptions o = decode_options(run.typed.decode, special_ids(*run.tokenizer), /*for_validation=*/false);
  const int64_t max_tokens = run.typed.translation_train.eval_max_tokens;
  const bool bf16 = run.typed.train.bf16;
  for (const std::string& t : translate_lines(run.model, *run.tokenizer, lines, o, max_tokens, run.device, bf16)) {
    out << t << "\n";
  }
  out.flush();
}

}  // namespace attune::translation
