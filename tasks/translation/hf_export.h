// `attune convert` for translation: --run RUN --to-hf DIR writes a MarianMTModel +
// MarianTokenizer folder transformers loads (only runs started from an OPUS-MT folder,
// init=hf:DIR, have the tokenizer files MarianTokenizer needs); --from-hf DIR --out RUN
// makes an OPUS-MT folder a run that translate, eval and export use as it is.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace attune::translation {

// out_dir must not exist or be empty. Returns the CLI's summary.
nlohmann::json export_hf(const std::string& run_dir, const std::string& out_dir);
// out_dir must not exist or be empty; notes go to `log`. Returns the CLI's summary.
nlohmann::json import_hf(const std::string& hf_dir, const std::string& out_dir, std::ostream& log);

}  // namespace attune::translation
