// OPUS-MT style folders made by attune itself: marian_tokenizer_files.h's tokenizer and a
// random model written by models::write_hf_marian (final_logits_bias off zero).
#pragma once
#include "models/seq2seq/hf_marian.h"
#include "tests/common/marian_tokenizer_files.h"

#include <string>

namespace attune::testing {

inline models::Seq2SeqOptions tiny_marian_options() {
  return models::Seq2SeqOptions(1).d_model(16).encoder_layers(1).decoder_layers(2).num_heads(2).ffn_dim(32)
      .activation("swish").max_positions(64).scale_embedding(true).dropout(0.0);
}

// A MarianMTModel folder's model with its weights, in eval mode.
inline models::Seq2SeqTransformer load_marian_model(const std::string& dir, models::MarianCheckpoint* checkpoint = nullptr) {
  models::MarianCheckpoint ck = models::read_hf_marian(dir);
  models::Seq2SeqTransformer model(ck.options);
  formats::load_module_tensors(*model, ck.tensors, ck.file);
  model->eval();
  if (checkpoint) *checkpoint = std::move(ck);
  return model;
}

// The folder's path; `options` gives the sizes (vocab_size and pad_id are the tokenizer's).
inline std::string write_marian_folder(const std::string& name, models::Seq2SeqOptions options) {
  const std::string dir = write_marian_tokenizer(name);
  const int64_t pad = static_cast<int64_t>(io::read_json(dir + "/vocab.json").size()) - 1;
  torch::manual_seed(5);
  models::Seq2SeqTransformer model(options.vocab_size(pad + 1).pad_id(pad));
  {
    torch::NoGradGuard no_grad;
    model->final_logits_bias.normal_(0.0, 0.5);
  }
  models::write_hf_marian(dir, *model, /*eos_id=*/0);
  return dir;
}

}  // namespace attune::testing
