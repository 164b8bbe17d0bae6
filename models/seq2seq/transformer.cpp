#include "models/seq2seq/transformer.h"

#include "models/attention/attention.h"

#include <cmath>

namespace attune::models {
namespace {

torch::nn::Embedding token_embedding(const Seq2SeqOptions& o) {
  return torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size(), o.d_model()).padding_idx(o.pad_id()));
}

torch::nn::Embedding position_embedding(const Seq2SeqOptions& o) {
  torch::nn::Embedding e(o.max_positions(), o.d_model());
  if (o.positions() == "sinusoidal") {
    torch::NoGradGuard no_grad;
    e->weight.copy_(sinusoidal_positions(o.max_positions(), o.d_model()));
    e->weight.set_requires_grad(false);
  }
  return e;
}

// Token embeddings (times sqrt(d) when scaled) plus the positions offset..offset+T-1.
torch::Tensor embed(const Seq2SeqOptions& o, torch::nn::Embedding& tokens, torch::nn::Embedding& positions,
                    const torch::Tensor& ids, int64_t offset) {
  TORCH_CHECK(ids.dim() == 2, "Seq2SeqTransformer: token ids must be (B,T), got ", ids.sizes());
  const int64_t t = ids.size(1);
  TORCH_CHECK(offset + t <= o.max_positions(), "Seq2SeqTransformer: position ", offset + t - 1,
              " is beyond model.max_positions (", o.max_positions(), ")");
  const double scale = o.scale_embedding() ? std::sqrt(static_cast<double>(o.d_model())) : 1.0;
  return tokens->forward(ids) * scale + positions->weight.slice(0, offset, offset + t);
}

void check_options(const Seq2SeqOptions& o) {
  TORCH_CHECK(o.vocab_size() > 0 && o.d_model() > 0 && o.ffn_dim() > 0 && o.max_positions() > 0,
              "Seq2SeqTransformer: sizes must be positive");
  TORCH_CHECK(o.encoder_layers() >= 1 && o.decoder_layers() >= 1, "Seq2SeqTransformer: needs at least one layer a stack");
  TORCH_CHECK(o.d_model() % o.num_heads() == 0, "Seq2SeqTransformer: d_model ", o.d_model(),
              " is not divisible by num_heads ", o.num_heads());
  TORCH_CHECK(o.positions() == "sinusoidal" || o.positions() == "learned",
              "Seq2SeqTransformer: positions must be sinusoidal or learned, got ", o.positions());
  TORCH_CHECK(o.pad_id() >= 0 && o.pad_id() < o.vocab_size(), "Seq2SeqTransformer: pad_id out of range");
  TORCH_CHECK(o.init() == "normal" || o.init() == "xavier", "Seq2SeqTransformer: init must be normal or xavier, got ",
              o.init());
}

}  // namespace

torch::Tensor sinusoidal_positions(int64_t n, int64_t d) {
  const int64_t half = (d + 1) / 2;
  const torch::Tensor pos = torch::arange(n, torch::kDouble).unsqueeze(1);
  // Column j of the interleaved table has frequency 10000^(-2*(j/2)/d); sines take the
  // even columns and cosines the odd ones, then are laid out side by side.
  const torch::Tensor j = torch::arange(d, torch::kDouble);
  const torch::Tensor angle = pos / torch::pow(10000.0, 2.0 * torch::floor(j / 2) / static_cast<double>(d));
  torch::Tensor out = torch::empty({n, d}, torch::kDouble);
  out.slice(1, 0, half).copy_(torch::sin(angle.slice(1, 0, d, 2)));
  out.slice(1, half, d).copy_(torch::cos(angle.slice(1, 1, d, 2)));
  return out.to(torch::kFloat);
}

void DecoderCache::select(const torch::Tensor& rows) {
  for (DecoderLayerCache& layer : layers) {
    for (KeyValueCache* kv : {&layer.self_attention, &layer.cross_attention}) {
      if (kv->empty()) continue;
      kv->key = kv->key.index_select(0, rows);
      kv->value = kv->value.index_select(0, rows);
    }
  }
}

namespace {

// What both stacks register: token embedding (when owned), positions, `count` layers and
// the final pre-LN LayerNorm.
template <typename Stack, typename Layer>
void build_stack(Stack& stack, const Seq2SeqOptions& o, torch::nn::Embedding tokens, bool own_tokens, int64_t count) {
  stack.embed_tokens = own_tokens ? stack.register_module("embed_tokens", tokens) : tokens;
  stack.embed_positions = stack.register_module("embed_positions", position_embedding(o));
  stack.layers = stack.register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < count; ++i) stack.layers->push_back(Layer(o));
  if (o.pre_layer_norm()) {
    stack.layer_norm = stack.register_module(
        "layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model()}).eps(o.layer_norm_eps())));
  }
}

}  // namespace

Seq2SeqEncoderImpl::Seq2SeqEncoderImpl(const Seq2SeqOptions& options, torch::nn::Embedding tokens, bool own_tokens)
    : options_(options) {
  build_stack<Seq2SeqEncoderImpl, Seq2SeqEncoderLayer>(*this, options, tokens, own_tokens, options.encoder_layers());
}

EncodedSource Seq2SeqEncoderImpl::forward(const torch::Tensor& src_ids, std::vector<torch::Tensor>* weights) {
  EncodedSource out;
  out.mask = padding_mask(src_ids.ne(options_.pad_id()));
  torch::Tensor x = torch::dropout(embed(options_, embed_tokens, embed_positions, src_ids, 0), options_.dropout(),
                                   is_training());
  for (const auto& module : *layers) {
    torch::Tensor w;
    x = module->as<Seq2SeqEncoderLayerImpl>()->forward(x, out.mask, weights ? &w : nullptr);
    if (weights) weights->push_back(w);
  }
  out.memory = layer_norm ? layer_norm->forward(x) : x;
  return out;
}

Seq2SeqDecoderImpl::Seq2SeqDecoderImpl(const Seq2SeqOptions& options, torch::nn::Embedding tokens, bool own_tokens)
    : options_(options) {
  build_stack<Seq2SeqDecoderImpl, Seq2SeqDecoderLayer>(*this, options, tokens, own_tokens, options.decoder_layers());
}

torch::Tensor Seq2SeqDecoderImpl::forward(const torch::Tensor& tgt_ids, const EncodedSource& source,
                                          DecoderCache* cache, std::vector<torch::Tensor>* cross_weights) {
  const int64_t offset = cache ? cache->length : 0;
  if (cache) {
    TORCH_CHECK(static_cast<int64_t>(cache->layers.size()) == options_.decoder_layers(),
                "Seq2SeqDecoder: the cache has ", cache->layers.size(), " layers, the decoder ", options_.decoder_layers());
  }
  torch::Tensor x = torch::dropout(embed(options_, embed_tokens, embed_positions, tgt_ids, offset), options_.dropout(),
                                   is_training());
  for (size_t i = 0; i < layers->size(); ++i) {
    torch::Tensor w;
    x = layers[i]->as<Seq2SeqDecoderLayerImpl>()->forward(x, source.memory, source.mask,
                                                          cache ? &cache->layers[i] : nullptr,
                                                          cross_weights ? &w : nullptr);
    if (cross_weights) cross_weights->push_back(w);
  }
  if (cache) cache->length += tgt_ids.size(1);
  return layer_norm ? layer_norm->forward(x) : x;
}

Seq2SeqCoreImpl::Seq2SeqCoreImpl(const Seq2SeqOptions& options) {
  if (options.share_embeddings()) {
    shared = register_module("shared", token_embedding(options));
    encoder = register_module("encoder", Seq2SeqEncoder(options, shared, false));
    decoder = register_module("decoder", Seq2SeqDecoder(options, shared, false));
  } else {
    encoder = register_module("encoder", Seq2SeqEncoder(options, token_embedding(options), true));
    decoder = register_module("decoder", Seq2SeqDecoder(options, token_embedding(options), true));
  }
}

Seq2SeqTransformerImpl::Seq2SeqTransformerImpl(const Seq2SeqOptions& options) : options_(options) {
  check_options(options);
  model = register_module("model", Seq2SeqCore(options));
  if (!options.tie_output()) {
    lm_head = register_module("lm_head", Linear(torch::nn::LinearOptions(options.d_model(), options.vocab_size()).bias(false)));
  }
  final_logits_bias = register_buffer("final_logits_bias", torch::zeros({1, options.vocab_size()}));
  reset_parameters();
}

void Seq2SeqTransformerImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const bool xavier = options_.init() == "xavier";
  // fairseq scales embeddings to enter the stack at unit variance (with the sqrt(d) factor).
  const double embedding_std = xavier ? 1.0 / std::sqrt(static_cast<double>(options_.d_model())) : options_.init_std();
  for (const auto& m : modules(/*include_self=*/false)) {
    if (auto* linear = m->as<LinearImpl>()) {
      for (auto& p : linear->named_parameters(/*recurse=*/false)) {
        if (p.key() == "bias") p.value().zero_();
        if (p.key() != "weight") continue;
        if (xavier) {
          torch::nn::init::xavier_uniform_(p.value());
        } else {
          p.value().normal_(0.0, options_.init_std());
        }
      }
    }
  }
  std::vector<torch::nn::Embedding> tokens;
  if (model->shared) {
    tokens.push_back(model->shared);
  } else {
    tokens = {model->encoder->embed_tokens, model->decoder->embed_tokens};
  }
  for (auto& e : tokens) {
    e->weight.normal_(0.0, embedding_std);
    e->weight[options_.pad_id()].zero_();
  }
  if (options_.positions() == "learned") {
    model->encoder->embed_positions->weight.normal_(0.0, embedding_std);
    model->decoder->embed_positions->weight.normal_(0.0, embedding_std);
  }
}

EncodedSource Seq2SeqTransformerImpl::encode(const torch::Tensor& src_ids, std::vector<torch::Tensor>* weights) {
  return model->encoder->forward(src_ids, weights);
}

torch::Tensor Seq2SeqTransformerImpl::decode(const torch::Tensor& tgt_ids, const EncodedSource& source,
                                             DecoderCache* cache) {
  return model->decoder->forward(tgt_ids, source, cache);
}

torch::Tensor Seq2SeqTransformerImpl::output_weight() {
  return lm_head ? lm_head->named_parameters(false)["weight"] : model->decoder->embed_tokens->weight;
}

torch::Tensor Seq2SeqTransformerImpl::project(const torch::Tensor& hidden) {
  if (lm_head) return lm_head->forward(hidden) + final_logits_bias.to(hidden.scalar_type());
  return torch::linear(hidden, output_weight()) + final_logits_bias.to(hidden.scalar_type());
}

torch::Tensor Seq2SeqTransformerImpl::forward(const torch::Tensor& src_ids, const torch::Tensor& tgt_ids) {
  return project(decode(tgt_ids, encode(src_ids)));
}

DecoderCache Seq2SeqTransformerImpl::new_cache() const {
  DecoderCache cache;
  cache.layers.resize(options_.decoder_layers());
  return cache;
}

}  // namespace attune::models
