// attune: train, evaluate and run attention models from the command line.
#include "core/error.h"
#include "tasks/registry.h"
#include "tools/cli/commands.h"

#include <cxxopts.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>

namespace {

struct Command {
  int (*run)(const attune::cli::Args&);
  const char* summary;
};

const std::map<std::string, Command>& commands() {
  static const std::map<std::string, Command> table = {
      {"train", {attune::cli::train_command, "train or fine-tune a model from a JSON run config"}},
      {"pretrain", {attune::cli::pretrain_command, "masked-LM pretraining on plain text (task mlm): a BERT from scratch, or init=hf:DIR continues a transformers masked LM"}},
      {"models", {attune::cli::models_command, "list model presets and the pretrained runs you have"}},
      {"eval", {attune::cli::eval_command, "evaluate a trained run on a data file (JSON metrics)"}},
      {"predict", {attune::cli::predict_command, "predict with a trained run (JSONL out)"}},
      {"translate", {attune::cli::translate_command, "translate lines with a trained translation run"}},
      {"explain", {attune::cli::explain_command, "attention and attention rollout of a text classifier for one input (JSON, HTML)"}},
      {"recommend", {attune::cli::recommend_command, "top-K items for user histories with a recommendation run"}},
      {"config", {attune::cli::config_command, "print a task's default run config"}},
      {"tokenize", {attune::cli::tokenize_command, "token ids of each input line with a saved tokenizer"}},
      {"merge", {attune::cli::merge_command, "fold a PEFT run's adapter into its base (plain run out)"}},
      {"convert", {attune::cli::convert_command, "import / export Hugging Face BERT checkpoints"}},
      {"bench", {attune::cli::bench_command, "training and inference speed of a model on synthetic batches (JSON)"}},
      {"report", {attune::cli::report_command, "one self-contained HTML page of a run: curves, metrics, config, per-task views"}},
      {"export", {attune::cli::export_command, "write a run as a TorchScript bundle for services without attune"}},
#if ATTUNE_HAS_SERVE
      {"serve", {attune::cli::serve_command, "serve a bundle over HTTP (JSON, dynamic batching, /health, /metrics)"}},
#endif
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "attune - train, fine-tune, evaluate and ship attention models, without Python\n\n"
      << "usage: attune <command> [options]   (attune <command> --help lists every option)\n\ncommands:\n";
  for (const auto& [name, cmd] : commands()) out << "  " << name << std::string(10 - name.size(), ' ') << cmd.summary << "\n";
  out << "\ntasks:\n";
  for (const auto* t : attune::tasks::all_tasks()) out << "  " << t->name() << ": " << t->description() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    print_usage(std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  const auto it = commands().find(name);
  if (it == commands().end()) {
    std::cerr << "attune: error: unknown command '" << name << "' (see attune --help)\n";
    return 2;
  }
  // A file that outgrows the file-size limit (ulimit -f) then fails to write with EFBIG,
  // reported like a full disk, instead of the signal killing the process mid-checkpoint.
  std::signal(SIGXFSZ, SIG_IGN);
  attune::cli::Args args(argv + 1, argv + argc);
  try {
    return it->second.run(args);
  } catch (const attune::UserError& e) {
    std::cerr << "attune: error: " << attune::first_line(e.what()) << std::endl;
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // Unwritable run directories, full disks, missing permissions: the user's to fix.
    std::cerr << "attune: error: " << attune::first_line(e.what()) << std::endl;
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "attune: error: " << attune::first_line(e.what_without_backtrace()) << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "attune: error: " << attune::first_line(e.what()) << std::endl;
    return 1;
  }
}
