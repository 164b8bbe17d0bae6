// attune_seq2seq_dump MODEL.json WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors:
// the Marian parity script's window into attune's encoder-decoder. MODEL.json holds
// {"model": <model section>, "vocab_size", "pad_id", "bos_id", "eos_id", "beam_size",
// "max_length_extra"}; WEIGHTS uses MarianMTModel's parameter names; INPUTS holds
// src (B,S) and tgt (B,T) int64. Writes encoder (B,S,E), logits (B,T,V) of a float32
// eval-mode forward pass, loss (mean cross-entropy of tgt shifted by one), "grad.<name>"
// of every trainable parameter, and greedy / beam (B,L) decoded ids padded with -1.
#include "core/error.h"
#include "data/formats/safetensors.h"
#include "core/files.h"
#include "models/seq2seq/config.h"
#include "models/seq2seq/transformer.h"
#include "tasks/translation/decoding.h"

#include <iostream>

namespace {

using namespace attune;

torch::Tensor padded(const std::vector<std::vector<int64_t>>& rows) {
  size_t width = 1;
  for (const auto& r : rows) width = std::max(width, r.size());
  torch::Tensor out = torch::full({static_cast<int64_t>(rows.size()), static_cast<int64_t>(width)}, -1, torch::kLong);
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i].size(); ++j) out[i][j] = rows[i][j];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: attune_seq2seq_dump MODEL.json WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors\n";
    return 2;
  }
  try {
    const nlohmann::json spec = io::read_json(argv[1]);
    const int64_t pad = spec.at("pad_id").get<int64_t>();
    models::Seq2SeqTransformer model(
        models::seq2seq_options_from_config(spec.at("model"), spec.at("vocab_size").get<int64_t>(), pad, "model"));
    formats::load_module_tensors(*model, formats::load_safetensors(argv[2]), argv[2], /*strict=*/false);
    model->eval();
    const formats::SafetensorsFile in = formats::load_safetensors(argv[3]);
    const torch::Tensor src = in.tensors.at("src").to(torch::kLong), tgt = in.tensors.at("tgt").to(torch::kLong);

    const models::EncodedSource source = model->encode(src);
    const torch::Tensor logits = model->project(model->decode(tgt, source));
    // Next-token loss over every position but the last, as the parity script computes it.
    const torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.slice(1, 0, -1).reshape({-1, logits.size(-1)}), tgt.slice(1, 1).reshape({-1}));
    loss.backward();
    formats::NamedTensors out = {{"encoder", source.memory.detach()}, {"logits", logits.detach()}, {"loss", loss.detach()}};
    for (const auto& p : model->named_parameters()) {
      if (p.value().grad().defined()) out.emplace_back("grad." + p.key(), p.value().grad());
    }
    translation::DecodeOptions o;
    o.bos_id = spec.at("bos_id").get<int64_t>();
    o.eos_id = spec.at("eos_id").get<int64_t>();
    o.pad_id = pad;
    o.max_length_ratio = 0.0;
    o.max_length_extra = spec.at("max_length_extra").get<int64_t>();
    out.emplace_back("greedy", padded(translation::greedy_search(model, src, o)));
    o.beam_size = spec.at("beam_size").get<int64_t>();
    out.emplace_back("beam", padded(translation::beam_search(model, src, o)));
    formats::save_safetensors(argv[4], out);
  } catch (const UserError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  return 0;
}
