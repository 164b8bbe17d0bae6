#include "core/error.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <iostream>


namespace attune::cli {

int export_command(const Args& args) {
  cxxopts::Options options(
      "attune export",
      "Write a trained run as a self-contained bundle for services without attune: model.pt (TorchScript, "
      "float32, any batch size and length; a classifier's forward(input_ids, attention_mask, token_type_ids=None) -> "
      "logits, an image classifier's forward(pixels) -> logits; translation, masked-LM and recommendation bundles: "
      "docs/export-and-serving.md), the run's tokenizer/ (text runs) or item ids, config.json and manifest.json "
      "(inputs, outputs, labels, versions, SHA-256 of every file). "
      "PEFT adapters linear in the weights (LoRA, AdaLoRA, IA3, BitFit) are merged into them; bottleneck adapters and prefixes are scripted as they are. Prints a JSON summary; "
      "`attune predict --bundle DIR` runs it.");
  options.add_options()
      ("r,run", "Run directory written by `attune train`", cxxopts::value<std::string>())
      ("o,out", "Bundle directory to write (must not exist or be empty)", cxxopts::value<std::string>())
      ("overwrite", "Replace an existing bundle in --out", cxxopts::value<bool>()->default_value("false"))
      ("int8", "Quantize the Linear layers to int8 (dynamic: weights per output channel, activations per batch) "
               "for faster CPU inference; the bundle then runs on the CPU only (text and image classification, "
               "translation)",
       cxxopts::value<bool>()->default_value("false"))
      ("bf16", "Weights and arithmetic in bfloat16, logits in float32: 1.7-3x float32's speed on CPUs with AVX-512 "
               "BF16 or AMX (docs/benchmarks.md), slower on CPUs without them; runs on GPUs too "
               "(text classification)",
       cxxopts::value<bool>()->default_value("false"))
      ("adapter-base", "Also write the base's weights (base_model.safetensors, attune's tensor names), so that "
                       "`attune serve --bundle DIR --adapter NAME=ADAPTER_DIR` can serve PEFT adapters on it; for a "
                       "PEFT run model.pt is then its base without the run's adapter (text classification, float32)",
       cxxopts::value<bool>()->default_value("false"));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  if (!parsed.count("run")) fail("attune export", "--run DIR is required");
  if (!parsed.count("out")) fail("attune export", "--out DIR is required");
  const std::string run_dir = parsed["run"].as<std::string>();
  const tasks::Task& task = tasks::task_of_run(run_dir);
  if (!task.exports()) fail("attune export", "task '" + task.name() + "' cannot be exported yet");
  const bool int8 = parsed["int8"].as<bool>(), bf16 = parsed["bf16"].as<bool>();
  if (int8 && bf16) fail("--bf16", "choose one of --int8 and --bf16");
  const bundle::Precision precision =
      int8 ? bundle::Precision::kInt8Dynamic : bf16 ? bundle::Precision::kBFloat16 : bundle::Precision::kFloat32;
  std::cout << task.export_bundle(run_dir, parsed["out"].as<std::string>(), parsed["overwrite"].as<bool>(), precision,
                                    parsed["adapter-base"].as<bool>()).dump(2)
            << std::endl;
  return 0;
}

}  // namespace attune::cli
