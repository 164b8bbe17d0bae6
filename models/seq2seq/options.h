// Options of the Transformer encoder-decoder ("Attention Is All You Need"), with the
// choices that differ between implementations made explicit. The defaults are the
// paper's base model with a joint vocabulary (shared embeddings, tied output).
#pragma once
#include <torch/torch.h>

#include <string>

namespace attune::models {

struct Seq2SeqOptions {
  explicit Seq2SeqOptions(int64_t vocab_size = 1) : vocab_size_(vocab_size) {}
  TORCH_ARG(int64_t, vocab_size);  // one joint vocabulary for source and target
  TORCH_ARG(int64_t, d_model) = 512;
  TORCH_ARG(int64_t, encoder_layers) = 6;
  TORCH_ARG(int64_t, decoder_layers) = 6;
  TORCH_ARG(int64_t, num_heads) = 8;
  TORCH_ARG(int64_t, ffn_dim) = 2048;
  TORCH_ARG(std::string, activation) = "relu";  // see activation_names()
  TORCH_ARG(double, dropout) = 0.1;             // embeddings, attention and feed-forward outputs
  TORCH_ARG(double, attention_dropout) = 0.0;   // attention probabilities
  TORCH_ARG(double, activation_dropout) = 0.0;  // inside the feed-forward block
  // false: post-LN as in the paper (and Marian); true: pre-LN, with a final LayerNorm
  // after each stack (as mBART), which trains more stably without long warm-up.
  TORCH_ARG(bool, pre_layer_norm) = false;
  TORCH_ARG(std::string, positions) = "sinusoidal";  // or "learned"
  TORCH_ARG(int64_t, max_positions) = 1024;
  // One embedding for source and target tokens (a joint vocabulary makes this natural).
  TORCH_ARG(bool, share_embeddings) = true;
  // The output projection is the target embedding matrix (no separate lm_head).
  TORCH_ARG(bool, tie_output) = true;
  // Embeddings are multiplied by sqrt(d_model), as in the paper.
  TORCH_ARG(bool, scale_embedding) = true;
  // "normal": every projection and embedding N(0, init_std), biases zero (transformers'
  // Marian/BART init); "xavier": Xavier-uniform projections and N(0, d^-1/2) embeddings
  // (fairseq, the paper's code), which learns markedly slower with a short warm-up.
  TORCH_ARG(std::string, init) = "normal";
  TORCH_ARG(double, init_std) = 0.02;
  TORCH_ARG(int64_t, pad_id) = 0;
  TORCH_ARG(double, layer_norm_eps) = 1e-5;
};

}  // namespace attune::models
