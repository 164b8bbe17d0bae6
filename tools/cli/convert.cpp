#include "core/error.h"
#include "core/files.h"
#include "tasks/classification/hf_convert.h"
#include "tasks/image_classification/hf_export.h"
#include "tasks/translation/hf_export.h"
#include "tools/cli/commands.h"
#include "tools/cli/options.h"

#include <filesystem>
#include <iostream>

namespace attune::cli {

int convert_command(const Args& args) {
  cxxopts::Options options(
      "attune convert",
      "Convert between Hugging Face checkpoint folders (config.json, model.safetensors, the tokenizer's or image\n"
      "processor's files) and attune directories; prints a JSON summary.\n"
      "  attune convert --from-hf DIR --out RUN_DIR   a *ForSequenceClassification of the BERT families, MarianMTModel\n"
      "                                               (with its MarianTokenizer) or ViTForImageClassification -> a run\n"
      "                                               for eval/predict/translate/export;\n"
      "                                               BertModel/BertForMaskedLM -> an encoder for --set init=RUN_DIR\n"
      "  attune convert --run RUN_DIR --to-hf OUT_DIR a classification run ([CLS] pooling) or encoder -> transformers;\n"
      "                                               a masked-LM run (attune pretrain) -> its family's *ForMaskedLM;\n"
      "                                               an image-classification run (cls-pooled ViT) -> ViTForImageClassification;\n"
      "                                               a translation run started from an OPUS-MT folder -> MarianMTModel\n"
      "(--set init=hf:DIR fine-tunes from a Hugging Face folder, ViT and Marian included, without converting it.)");
  options.add_options()
      ("from-hf", "Hugging Face checkpoint folder to import", cxxopts::value<std::string>())
      ("o,out", "attune directory to write (must not exist or be empty)", cxxopts::value<std::string>())
      ("r,run", "attune run or encoder directory to export", cxxopts::value<std::string>())
      ("to-hf", "Hugging Face folder to write (must not exist or be empty)", cxxopts::value<std::string>())
      ("encoder-only", "Export only the encoder, as BertModel (e.g. a mean-pooling classifier)",
       cxxopts::value<bool>()->default_value("false"));
  cxxopts::ParseResult parsed;
  if (!parse_or_help(options, args, parsed)) return 0;
  const bool importing = parsed.count("from-hf") > 0, exporting = parsed.count("run") > 0;
  if (importing == exporting) fail("attune convert", "give either --from-hf DIR --out RUN_DIR or --run RUN_DIR --to-hf OUT_DIR");
  nlohmann::json summary;
  if (importing) {
    if (!parsed.count("out")) fail("attune convert", "--from-hf needs --out RUN_DIR");
    if (parsed.count("to-hf") || parsed["encoder-only"].as<bool>()) {
      fail("attune convert", "--to-hf and --encoder-only go with --run, not --from-hf");
    }
    const std::string from = parsed["from-hf"].as<std::string>();
    const std::string hf_config = (std::filesystem::path(from) / "config.json").string();
    const nlohmann::json read = std::filesystem::exists(hf_config) ? io::read_json(hf_config) : nlohmann::json();
    const nlohmann::json model_type = read.is_object() ? read.value("model_type", nlohmann::json()) : nlohmann::json();
    if (model_type == "marian") {
      summary = translation::import_hf(from, parsed["out"].as<std::string>(), std::cerr);
    } else if (model_type == "vit") {
      summary = image_classification::import_hf(from, parsed["out"].as<std::string>(), std::cerr);
    } else {
      summary = hf::import_hf(from, parsed["out"].as<std::string>(), std::cerr);
    }
  } else {
    if (!parsed.count("to-hf")) fail("attune convert", "--run needs --to-hf OUT_DIR");
    if (parsed.count("out")) fail("attune convert", "--out goes with --from-hf; exports write to --to-hf");
    const std::string run_dir = parsed["run"].as<std::string>();
    const std::string config = (std::filesystem::path(run_dir) / "config.json").string();
    const nlohmann::json written = std::filesystem::exists(config) ? io::read_json(config) : nlohmann::json();
    const std::string task = written.is_object() ? written.value("task", "") : "";
    if (task == "translation") {
      if (parsed["encoder-only"].as<bool>()) fail("--encoder-only", "is for BERT runs; a translation run exports whole");
      summary = translation::export_hf(run_dir, parsed["to-hf"].as<std::string>());
    } else if (task == "image-classification") {
      if (parsed["encoder-only"].as<bool>()) fail("--encoder-only", "is for BERT runs; an image run exports whole");
      summary = image_classification::export_hf(run_dir, parsed["to-hf"].as<std::string>());
    } else {
      summary = hf::export_hf(run_dir, parsed["to-hf"].as<std::string>(), parsed["encoder-only"].as<bool>(), std::cerr);
    }
  }
  std::cout << summary.dump(2) << std::endl;
  return 0;
}

}  // namespace attune::cli
