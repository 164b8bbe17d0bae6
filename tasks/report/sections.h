// The parts of the run report, each a piece of HTML built from the run's files alone.
// A section whose numbers the run does not have returns "" (the task has no such
// metric) or says what is missing, so one page serves every task and unfinished runs.
#pragma once
#include "tasks/report/run_files.h"

#include <string>

namespace attune::report {

std::string header_section(const RunFiles& run);
std::string notes_section(const RunFiles& run);
// Loss, learning rate, throughput and gradient norm over steps.
std::string training_section(const RunFiles& run);
// Every validation metric over steps (accuracy, macro-F1, HR/NDCG@K, perplexity, ...).
std::string evaluation_section(const RunFiles& run);
// Per task, by what its metrics hold: confusion matrix and per-class P/R/F1; BLEU/chrF
// and sample translations; HR/NDCG@K; misclassified images.
std::string classification_section(const RunFiles& run);
std::string translation_section(const RunFiles& run);
std::string recommendation_section(const RunFiles& run);
std::string images_section(const RunFiles& run);
// results.json's numbers, and config.json.
std::string results_section(const RunFiles& run);
std::string config_section(const RunFiles& run);

}  // namespace attune::report
