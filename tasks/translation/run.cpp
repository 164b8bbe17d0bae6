// Using a trained translation run: attune eval, translate and predict.
#include "data/error.h"
#include "data/formats/safetensors.h"
#include "data/io/files.h"
#include "models/seq2seq/config.h"
#include "tasks/config/config.h"
#include "tasks/engine/settings.h"
#include "tasks/translation/task.h"
#include "tasks/translation/translate.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::translation {
namespace {

struct LoadedRun {
  nlohmann::json config;
  std::shared_ptr<text::SentencePieceTokenizer> tokenizer;
  models::Seq2SeqTransformer model{nullptr};
  torch::Device device = torch::kCPU;
};

LoadedRun load_run(const std::string& run_dir, const std::vector<std::string>& overrides, const std::string& device) {
  engine::require_run_dir(run_dir);
  LoadedRun run;
  run.config = io::read_json((fs::path(run_dir) / "config.json").string());
  config::apply_overrides(run.config, overrides);
  engine::apply_threads(config::get_int(run.config, "threads", "", 0, 1024));
  const std::string tokenizer_dir = (fs::path(run_dir) / "tokenizer").string();
  std::unique_ptr<text::Tokenizer> tokenizer = text::load_tokenizer(tokenizer_dir);
  auto* sp = dynamic_cast<text::SentencePieceTokenizer*>(tokenizer.get());
  if (!sp) fail(tokenizer_dir, "not a sentencepiece tokenizer, which translation needs");
  tokenizer.release();
  run.tokenizer.reset(sp);
  run.model = models::Seq2SeqTransformer(models::seq2seq_options_from_config(
      run.config.at("model"), run.tokenizer->vocab_size(), run.tokenizer->pad_id(), "model"));
  const std::string weights = (fs::path(run_dir) / "model.safetensors").string();
  if (!fs::exists(weights)) fail(run_dir, "run has no model.safetensors (training did not reach an evaluation)");
  formats::load_module_tensors(*run.model, formats::load_safetensors(weights), weights);
  run.device = engine::resolve_device(device.empty() ? run.config.value("device", "auto") : device, "--device");
  run.model->to(run.device);
  run.model->eval();
  return run;
}

}  // namespace

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& data_path,
                            const std::vector<std::string>& overrides, const std::string& device) {
  LoadedRun run = load_run(run_dir, overrides, device);
  const nlohmann::json& d = run.config.at("data");
  const data::ParallelText text = read_parallel_spec(nlohmann::json(data_path), "--data",
                                                     config::get_string(d, "source_key", "data"),
                                                     config::get_string(d, "target_key", "data"));
  const std::string output = config::get_optional_string(run.config.at("decode"), "output", "decode");
  nlohmann::json m = evaluate_text(run.model, *run.tokenizer, text, run.config, run.device, output);
  m["data"] = data_path;
  return m;
}

void translate_run(const std::string& run_dir, std::istream& in, std::ostream& out, const std::string& device,
                   const std::vector<std::string>& overrides) {
  LoadedRun run = load_run(run_dir, overrides, device);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  const DecodeOptions o = decode_options(run.config, special_ids(*run.tokenizer), /*for_validation=*/false);
  const int64_t max_tokens = config::get_int(run.config.at("train"), "eval_max_tokens", "train", 1, 1 << 30);
  const bool bf16 = config::get_bool(run.config.at("train"), "bf16", "train");
  for (const std::string& t : translate_lines(run.model, *run.tokenizer, lines, o, max_tokens, run.device, bf16)) {
    out << t << "\n";
  }
  out.flush();
}

void predict_run(const std::string& run_dir, std::istream& in, const std::string& input_name, std::ostream& out,
                 const std::string& device, int64_t batch_size) {
  (void)input_name;
  (void)batch_size;  // batches are cut by tokens (train.eval_max_tokens)
  translate_run(run_dir, in, out, device, {});
}

}  // namespace attune::translation
