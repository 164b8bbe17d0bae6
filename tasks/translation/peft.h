// PEFT for translation: adapters on the encoder-decoder, whose module paths are
// transformers' MarianMTModel's already ("model.encoder.layers.0.self_attn.q_proj"), so
// adapter files keep them and load in PEFT (PeftModel.from_pretrained over that model).
#pragma once
#include "models/peft/peft_model.h"
#include "models/seq2seq/transformer.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace attune::translation {

// PEFT's task type for MarianMTModel, written into adapter_config.json.
inline const char* kPeftTaskType = "SEQ_2_SEQ_LM";

// No adapter yet; unset target_modules default to MarianMTModel's, as every
// encoder-decoder here names its modules as it does.
std::shared_ptr<peft::PeftModel> make_peft_model(const models::Seq2SeqTransformer& model);

// Adapter "default" for a resolved "peft" section, active and the only trainable part.
// The model has no head that starts untrained, so nothing joins modules_to_save.
std::shared_ptr<peft::PeftModel> add_run_adapter(const models::Seq2SeqTransformer& model, const nlohmann::json& resolved);

// Folds a PEFT run's adapter (or the last of `adapters`, adapter directories) into its
// base and writes a plain run to out_dir (attune merge).
nlohmann::json merge_run(const std::string& run_dir, const std::string& out_dir, const std::vector<std::string>& adapters);

}  // namespace attune::translation
