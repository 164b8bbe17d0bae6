// The Transformer encoder-decoder for translation. Parameter names follow Hugging
// Face's MarianMTModel, so its numerics can be checked against transformers
// (tools/parity/marian_parity.py) and the layout is familiar:
//   model.shared (shared embeddings) or model.{encoder,decoder}.embed_tokens,
//   model.{encoder,decoder}.embed_positions, model.{encoder,decoder}.layers.N.*,
//   model.{encoder,decoder}.layer_norm (pre-LN only), lm_head (untied only),
//   final_logits_bias.
#pragma once
#include "models/seq2seq/layers.h"
#include "models/seq2seq/options.h"

#include <torch/torch.h>

#include <vector>

namespace attune::models {

// What the decoder needs of an encoded source batch.
struct EncodedSource {
  torch::Tensor memory;  // (B,S,E)
  torch::Tensor mask;    // (B,1,1,S) bool, true = real token
};

// Incremental decoding state: every decoder layer's caches and the number of target
// positions already decoded.
struct DecoderCache {
  std::vector<DecoderLayerCache> layers;
  int64_t length = 0;
  // Keeps batch rows `rows` (int64, on the cache's device) in that order: beam search
  // reorders and prunes hypotheses with it.
  void select(const torch::Tensor& rows);
};

class Seq2SeqEncoderImpl : public torch::nn::Module {
 public:
  Seq2SeqEncoderImpl(const Seq2SeqOptions& options, torch::nn::Embedding tokens, bool own_tokens);
  // weights, if given, receives each layer's self-attention probabilities.
  EncodedSource forward(const torch::Tensor& src_ids, std::vector<torch::Tensor>* weights = nullptr);
  torch::nn::Embedding embed_tokens{nullptr};     // registered only when not shared
  torch::nn::Embedding embed_positions{nullptr};  // sinusoidal: fixed (requires no grad)
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};  // pre-LN only

 private:
  Seq2SeqOptions options_;
};
TORCH_MODULE(Seq2SeqEncoder);

class Seq2SeqDecoderImpl : public torch::nn::Module {
 public:
  Seq2SeqDecoderImpl(const Seq2SeqOptions& options, torch::nn::Embedding tokens, bool own_tokens);
  // tgt_ids (B,T) -> hidden states (B,T,E). With a cache, tgt_ids are the next T
  // positions after cache->length and the cache grows by T.
  torch::Tensor forward(const torch::Tensor& tgt_ids, const EncodedSource& source, DecoderCache* cache = nullptr,
                        std::vector<torch::Tensor>* cross_weights = nullptr);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::Embedding embed_positions{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};  // pre-LN only

 private:
  Seq2SeqOptions options_;
};
TORCH_MODULE(Seq2SeqDecoder);

// MarianModel: the shared embedding and the two stacks.
class Seq2SeqCoreImpl : public torch::nn::Module {
 public:
  explicit Seq2SeqCoreImpl(const Seq2SeqOptions& options);
  torch::nn::Embedding shared{nullptr};  // shared embeddings only
  Seq2SeqEncoder encoder{nullptr};
  Seq2SeqDecoder decoder{nullptr};
};
TORCH_MODULE(Seq2SeqCore);

class Seq2SeqTransformerImpl : public torch::nn::Module {
 public:
  explicit Seq2SeqTransformerImpl(const Seq2SeqOptions& options);
  // src_ids (B,S), padded with pad_id.
  EncodedSource encode(const torch::Tensor& src_ids, std::vector<torch::Tensor>* weights = nullptr);
  torch::Tensor decode(const torch::Tensor& tgt_ids, const EncodedSource& source, DecoderCache* cache = nullptr);
  // Hidden states (...,E) -> logits (...,V).
  torch::Tensor project(const torch::Tensor& hidden);
  // Teacher forcing: logits (B,T,V) of every target position.
  torch::Tensor forward(const torch::Tensor& src_ids, const torch::Tensor& tgt_ids);
  DecoderCache new_cache() const;

  const Seq2SeqOptions& options() const { return options_; }
  Seq2SeqCore model{nullptr};
  Linear lm_head{nullptr};          // untied only
  torch::Tensor final_logits_bias;  // (1,V) buffer, zeros unless loaded

 private:
  void reset_parameters();
  torch::Tensor output_weight();
  Seq2SeqOptions options_;
};
TORCH_MODULE(Seq2SeqTransformer);

// (n, d) sinusoidal table in Marian's layout: sines in the first half, cosines in the
// second, frequency 10000^(-2i/d); computed in double as transformers does with numpy.
torch::Tensor sinusoidal_positions(int64_t n, int64_t d);

}  // namespace attune::models
