// Fine-tunes a LoRA classifier on a CSV (columns text,label) through attune's C++ API,
// evaluates it on a second CSV, predicts a few texts and exports a TorchScript bundle.
// usage: finetune_cpp TRAIN_CSV TEST_CSV RUN_DIR BUNDLE_DIR [key=value ...]
// Extra key=value arguments override the run config, as `attune train --set` does.
#include "tasks/api.h"

#include <iostream>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: " << argv[0] << " TRAIN_CSV TEST_CSV RUN_DIR BUNDLE_DIR [key=value ...]\n";
    return 2;
  }
  const std::string train_csv = argv[1], test_csv = argv[2], run_dir = argv[3], bundle_dir = argv[4];
  try {
    // A small BERT-style encoder learned from scratch, with LoRA on its attention and
    // feed-forward layers (the classifier head trains in full, as PEFT's modules_to_save).
    std::vector<std::string> overrides = {
        "run_dir=" + run_dir,        "data.train=" + train_csv,  "data.text_column=text",
        "data.label_column=label",   "peft.method=lora",         "peft.r=4",
        "peft.lora_alpha=8",         "peft.target_modules=[\"query\",\"value\",\"dense\"]",
        "device=cpu"};
    for (int i = 5; i < argc; ++i) overrides.emplace_back(argv[i]);
    const nlohmann::json config = attune::api::make_config({{"task", "text-classification"}}, overrides);

    attune::api::TrainOptions options;
    options.overwrite = true;
    const nlohmann::json summary = attune::api::train(config, options);
    std::cout << "trained " << summary["steps"] << " steps, best at step " << summary["best_step"] << "\n";

    const attune::api::TrainedRun run(run_dir);
    const nlohmann::json metrics = run.evaluate(test_csv);
    std::cout << "test accuracy " << metrics["accuracy"] << ", macro-F1 " << metrics["macro_f1"] << "\n";

    const std::vector<std::string> texts = {"cheese bread soup", "team goal match score", "laptop server code compiler"};
    const std::vector<nlohmann::json> rows = run.predict(texts);
    for (size_t i = 0; i < texts.size(); ++i) std::cout << texts[i] << " -> " << rows[i]["label"] << "\n";

    run.export_bundle(bundle_dir, /*overwrite=*/true);
    // The bundle alone (LibTorch, no training code) gives the same labels.
    const std::vector<nlohmann::json> from_bundle = attune::api::predict_bundle(bundle_dir, texts);
    for (size_t i = 0; i < texts.size(); ++i) {
      if (from_bundle[i]["label"] != rows[i]["label"]) {
        std::cerr << "bundle and run disagree on '" << texts[i] << "'\n";
        return 1;
      }
    }
    std::cout << "bundle " << bundle_dir << " agrees with the run (attune " << attune::api::version() << ")\n";
    return 0;
  } catch (const attune::UserError& e) {
    std::cerr << e.what() << "\n";  // bad input: one line, as the CLI prints it
    return 2;
  }
}
