// Hugging Face MarianMTModel folders (OPUS-MT): config.json read into Seq2SeqOptions and
// model.safetensors into attune's encoder-decoder, whose tensor names are transformers'
// (model.shared, model.{encoder,decoder}.layers.N.*, lm_head, final_logits_bias); and the
// way back. What transformers' Marian computes and attune's model cannot is refused, one
// line naming the file and key or tensor.
#pragma once
#include "data/formats/safetensors.h"
#include "models/seq2seq/transformer.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace attune::models {

struct MarianCheckpoint {
  Seq2SeqOptions options;
  int64_t eos_id = 0;  // pad_id is options.pad_id(), also the decoder's start
  // attune's names, float32: every tensor of Seq2SeqTransformer (sinusoidal positions and
  // a zero final_logits_bias filled in where the file has none).
  formats::SafetensorsFile tensors;
  std::string file;                // the weights file
  std::vector<std::string> notes;  // what was filled in or left out, one line each
};

// dir: config.json (model_type "marian") and model.safetensors.
MarianCheckpoint read_hf_marian(const std::string& dir);
// A MarianConfig's JSON to attune's options; fails naming path and the key.
Seq2SeqOptions marian_options(const nlohmann::json& config, const std::string& path);

// config.json, generation_config.json and model.safetensors that MarianMTModel.from_pretrained
// loads: post-LN, sinusoidal positions; anything else fails naming the model key.
void write_hf_marian(const std::string& dir, Seq2SeqTransformerImpl& model, int64_t eos_id);

}  // namespace attune::models
