#include "tasks/translation/init.h"

#include "core/error.h"
#include "models/seq2seq/config.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace attune::translation {

MarianInit apply_init(nlohmann::json& config, const std::string& source, std::ostream& log) {
  if (source.rfind("hf:", 0) != 0) fail("init", "expected hf:DIR (a transformers MarianMTModel folder), got '" + source + "'");
  const std::string dir = source.substr(3);
  MarianInit init;
  init.checkpoint = models::read_hf_marian(dir);
  init.tokenizer = text::MarianTokenizer::load(dir);
  for (const auto& note : init.checkpoint.notes) log << "note: " << note << "\n";
  const models::Seq2SeqOptions& o = init.checkpoint.options;
  const std::string vocab = (fs::path(dir) / "vocab.json").string(), cfg = (fs::path(dir) / "config.json").string();
  const text::MarianTokenizer& t = *init.tokenizer;
  if (t.vocab_size() != o.vocab_size()) {
    fail(vocab, "has " + std::to_string(t.vocab_size()) + " tokens but " + cfg + " vocab_size is " +
                    std::to_string(o.vocab_size()));
  }
  if (t.pad_id() != o.pad_id()) {
    fail(cfg + ": pad_token_id", std::to_string(o.pad_id()) + " is not vocab.json's <pad> " + std::to_string(t.pad_id()));
  }
  if (t.eos_id() != init.checkpoint.eos_id) {
    fail(cfg + ": eos_token_id",
         std::to_string(init.checkpoint.eos_id) + " is not vocab.json's </s> " + std::to_string(t.eos_id()));
  }
  nlohmann::json model = models::seq2seq_model_config(o, "");
  for (const char* rate : {"dropout", "attention_dropout", "activation_dropout"}) {
    const nlohmann::json& given = config["model"][rate];
    if (!given.is_null()) model[rate] = given;
  }
  config["model"] = model;
  log << "init: MarianMTModel from " << dir << " (" << o.encoder_layers() << "+" << o.decoder_layers()
      << " layers, width " << o.d_model() << ", vocabulary " << o.vocab_size()
      << (t.separate_vocabs() ? ", separate source and target vocabularies" : "") << ")\n";
  return init;
}

}  // namespace attune::translation
