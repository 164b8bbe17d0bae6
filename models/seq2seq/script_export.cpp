#include "models/seq2seq/script_export.h"

#include <cmath>

namespace attune::models {
namespace {

using script::float_literal;

struct Shape {
  int64_t e, h, d;
  std::string split(const std::string& x, const std::string& length) const {
    return "(" + x + ").view(B, " + length + ", " + std::to_string(h) + ", " + std::to_string(d) + ").transpose(1, 2)";
  }
};

Shape shape_of(const Seq2SeqOptions& o) { return {o.d_model(), o.num_heads(), o.d_model() / o.num_heads()}; }

// Post-LN normalises the residual sum, pre-LN the sublayer input (layers.cpp's residual()).
// `body` maps the sublayer input to the lines computing its output into "o".
template <typename Body>
std::string residual_lines(script::ScriptModuleBuilder& b, torch::nn::LayerNormImpl& norm, const std::string& name,
                           bool pre_ln, const std::string& x, Body&& body) {
  if (pre_ln) {
    return "    n = " + b.layer_norm(norm, name, x) + "\n" + body("n") + "    " + x + " = " + x + " + o\n";
  }
  return body(x) + "    " + x + " = " + b.layer_norm(norm, name, x + " + o") + "\n";
}

std::string feed_forward_lines(script::ScriptModuleBuilder& b, LinearImpl& fc1, LinearImpl& fc2, Activation act,
                               const std::string& in) {
  return "    o = " + b.linear(fc2, "fc2", script::activation_call(act, b.linear(fc1, "fc1", in))) + "\n";
}

// Self-attention of `in` into "o". With `cached`, this step's keys and values are appended
// to the layer's self_k / self_v inputs (into k, v) and the queries see the keys that the
// layer's `self_keep` input marks: the caller's causal mask, or each row's own keys when
// rows started decoding at different steps.
std::string self_attention_lines(script::ScriptModuleBuilder& b, Seq2SeqAttentionImpl& a, const Shape& sh,
                                 const std::string& in, bool cached) {
  const std::string k = sh.split(b.linear(*a.k_proj, "self_attn_k_proj", in), "T");
  const std::string v = sh.split(b.linear(*a.v_proj, "self_attn_v_proj", in), "T");
  std::string s = "    q = " + sh.split(b.linear(*a.q_proj, "self_attn_q_proj", in), "T") + "\n";
  if (cached) {
    s += "    k = torch.cat([self_k, " + k + "], 2)\n"
         "    v = torch.cat([self_v, " + v + "], 2)\n"
         "    keep = self_keep\n";
  } else {
    s += "    k = " + k + "\n    v = " + v + "\n";
  }
  return s + script::attend_lines("q", "k", "v", "keep", "c", sh.d) + "    o = " +
         b.linear(*a.out_proj, "self_attn_out_proj", "c.transpose(1, 2).reshape(B, T, " + std::to_string(sh.e) + ")") +
         "\n";
}

torch::jit::Module script_encoder_layer(Seq2SeqEncoderLayerImpl& layer, const Seq2SeqOptions& o,
                                        script::ClassNames& names) {
  script::ScriptModuleBuilder b(names, "Seq2SeqEncoderLayer");
  const Shape sh = shape_of(o);
  const Activation act = parse_activation(o.activation(), "model.activation");
  Seq2SeqAttentionImpl& a = *layer.self_attn;
  std::string s =
      "def forward(self, x: Tensor, keep: Tensor) -> Tensor:\n"
      "    B = x.size(0)\n"
      "    T = x.size(1)\n";
  s += residual_lines(b, *layer.self_attn_layer_norm, "self_attn_layer_norm", o.pre_layer_norm(), "x",
                      [&](const std::string& in) { return self_attention_lines(b, a, sh, in, false); });
  s += residual_lines(b, *layer.final_layer_norm, "final_layer_norm", o.pre_layer_norm(), "x",
                      [&](const std::string& in) { return feed_forward_lines(b, *layer.fc1, *layer.fc2, act, in); });
  s += "    return x\n";
  return b.build(s);
}

torch::jit::Module script_decoder_layer(Seq2SeqDecoderLayerImpl& layer, const Seq2SeqOptions& o,
                                        script::ClassNames& names) {
  script::ScriptModuleBuilder b(names, "Seq2SeqDecoderLayer");
  const Shape sh = shape_of(o);
  const Activation act = parse_activation(o.activation(), "model.activation");
  Seq2SeqAttentionImpl& sa = *layer.self_attn;
  Seq2SeqAttentionImpl& ca = *layer.encoder_attn;
  const std::string merge = "c.transpose(1, 2).reshape(B, T, " + std::to_string(sh.e) + ")";
  // The cross-attention keys and values depend on the memory alone: computed once.
  b.add_method("def cross_kv(self, memory: Tensor) -> Tuple[Tensor, Tensor]:\n"
               "    B = memory.size(0)\n"
               "    S = memory.size(1)\n"
               "    return " + sh.split(b.linear(*ca.k_proj, "encoder_attn_k_proj", "memory"), "S") + ", " +
               sh.split(b.linear(*ca.v_proj, "encoder_attn_v_proj", "memory"), "S") + "\n");
  std::string s =
      "def forward(self, x: Tensor, source_mask: Tensor, self_keep: Tensor, self_k: Tensor, self_v: Tensor, "
      "cross_k: Tensor, cross_v: Tensor) -> Tuple[Tensor, Tensor, Tensor]:\n"
      "    B = x.size(0)\n"
      "    T = x.size(1)\n"
      "    k = self_k\n"
      "    v = self_v\n";
  s += residual_lines(b, *layer.self_attn_layer_norm, "self_attn_layer_norm", o.pre_layer_norm(), "x",
                      [&](const std::string& in) { return self_attention_lines(b, sa, sh, in, true); });
  s += residual_lines(b, *layer.encoder_attn_layer_norm, "encoder_attn_layer_norm", o.pre_layer_norm(), "x",
                      [&](const std::string& in) {
                        return "    q = " + sh.split(b.linear(*ca.q_proj, "encoder_attn_q_proj", in), "T") + "\n" +
                               script::attend_lines("q", "cross_k", "cross_v", "source_mask", "c", sh.d) +
                               "    o = " + b.linear(*ca.out_proj, "encoder_attn_out_proj", merge) + "\n";
                      });
  s += residual_lines(b, *layer.final_layer_norm, "final_layer_norm", o.pre_layer_norm(), "x",
                      [&](const std::string& in) { return feed_forward_lines(b, *layer.fc1, *layer.fc2, act, in); });
  s += "    return x, k, v\n";
  return b.build(s);
}

}  // namespace

torch::jit::Module script_seq2seq(Seq2SeqTransformerImpl& model, script::ClassNames& names) {
  const Seq2SeqOptions& o = model.options();
  const Shape sh = shape_of(o);
  std::vector<torch::jit::Module> encoder_layers, decoder_layers;
  for (const auto& m : *model.model->encoder->layers) {
    encoder_layers.push_back(script_encoder_layer(*m->as<Seq2SeqEncoderLayerImpl>(), o, names));
  }
  for (const auto& m : *model.model->decoder->layers) {
    decoder_layers.push_back(script_decoder_layer(*m->as<Seq2SeqDecoderLayerImpl>(), o, names));
  }
  script::ScriptModuleBuilder b(names, "Seq2SeqTransformer");
  Seq2SeqEncoderImpl& enc = *model.model->encoder;
  Seq2SeqDecoderImpl& dec = *model.model->decoder;
  // Shared embeddings are one tensor in the module, as in the model.
  std::string enc_tokens, dec_tokens;
  if (model.model->shared) {
    enc_tokens = dec_tokens = b.tensor("model_shared_weight", model.model->shared->weight);
  } else {
    enc_tokens = b.tensor("model_encoder_embed_tokens_weight", enc.embed_tokens->weight);
    dec_tokens = b.tensor("model_decoder_embed_tokens_weight", dec.embed_tokens->weight);
  }
  const bool sinusoidal = o.positions() == "sinusoidal";  // a fixed table: a buffer, not a parameter
  const std::string enc_positions = b.tensor("model_encoder_embed_positions_weight", enc.embed_positions->weight, !sinusoidal);
  const std::string dec_positions = b.tensor("model_decoder_embed_positions_weight", dec.embed_positions->weight, !sinusoidal);
  const std::string scale = float_literal(o.scale_embedding() ? std::sqrt(static_cast<double>(o.d_model())) : 1.0);
  const std::string max_positions = std::to_string(o.max_positions());
  const std::string too_long = ", \"longer than the model's " + max_positions + " positions\"\n";

  std::string s =
      "def encode(self, src_ids: Tensor) -> Tuple[Tensor, Tensor]:\n"
      "    B = src_ids.size(0)\n"
      "    S = src_ids.size(1)\n"
      "    assert S <= " + max_positions + too_long +
      "    keep = src_ids.ne(" + std::to_string(o.pad_id()) + ").view(B, 1, 1, S)\n"
      "    x = torch.embedding(" + enc_tokens + ", src_ids) * " + scale + " + " + enc_positions + "[0:S]\n";
  for (size_t i = 0; i < encoder_layers.size(); ++i) {
    s += "    x = " + b.submodule("encoder_layer_" + std::to_string(i), encoder_layers[i]) + ".forward(x, keep)\n";
  }
  if (enc.layer_norm) s += "    x = " + b.layer_norm(*enc.layer_norm, "model_encoder_layer_norm", "x") + "\n";
  s += "    return x, keep\n\n";

  s += "def init_cache(self, memory: Tensor) -> List[Tensor]:\n"
       "    B = memory.size(0)\n"
       "    empty = memory.new_zeros([B, " + std::to_string(sh.h) + ", 0, " + std::to_string(sh.d) + "])\n"
       "    cache: List[Tensor] = []\n";
  for (size_t i = 0; i < decoder_layers.size(); ++i) {
    s += "    k, v = self.decoder_layer_" + std::to_string(i) + ".cross_kv(memory)\n"
         "    cache += [empty, empty, k, v]\n";
  }
  s += "    return cache\n\n";

  // Every decoder layer over x with the self-attention mask self_keep; decode_step and
  // decode_rows differ only in positions and that mask.
  s += "def decode_layers(self, x: Tensor, source_mask: Tensor, self_keep: Tensor, cache: List[Tensor]) -> "
       "Tuple[Tensor, List[Tensor]]:\n"
       "    grown: List[Tensor] = []\n";
  for (size_t i = 0; i < decoder_layers.size(); ++i) {
    auto at = [&](int j) { return "cache[" + std::to_string(4 * i + j) + "]"; };
    s += "    x, k, v = " + b.submodule("decoder_layer_" + std::to_string(i), decoder_layers[i]) +
         ".forward(x, source_mask, self_keep, " + at(0) + ", " + at(1) + ", " + at(2) + ", " + at(3) + ")\n"
         "    grown += [k, v, " + at(2) + ", " + at(3) + "]\n";
  }
  if (dec.layer_norm) s += "    x = " + b.layer_norm(*dec.layer_norm, "model_decoder_layer_norm", "x") + "\n";
  const std::string bias = b.tensor("final_logits_bias", model.final_logits_bias, /*parameter=*/false);
  if (model.lm_head) {
    s += "    logits = " + b.linear(*model.lm_head, "lm_head", "x") + " + " + bias + "\n";
  } else {
    s += "    logits = torch.linear(x, " + dec_tokens + ") + " + bias + "\n";
  }
  s += "    return logits, grown\n\n";

  s += "def decode_step(self, tokens: Tensor, source_mask: Tensor, cache: List[Tensor]) -> Tuple[Tensor, List[Tensor]]:\n"
       "    T = tokens.size(1)\n"
       "    start = cache[0].size(2)\n"
       "    assert start + T <= " + max_positions + too_long +
       "    x = torch.embedding(" + dec_tokens + ", tokens) * " + scale + " + " + dec_positions + "[start:start + T]\n"
       "    keep = source_mask.new_ones([T, start + T]).tril(start)\n"
       "    return self.decode_layers(x, source_mask, keep, cache)\n\n";

  // Rows at different steps (continuous batching): row r's target so far fills the last
  // positions[r] columns of the cache, and its token goes at position positions[r].
  s += "def decode_rows(self, tokens: Tensor, positions: Tensor, source_mask: Tensor, cache: List[Tensor]) -> "
       "Tuple[Tensor, List[Tensor]]:\n"
       "    R = tokens.size(0)\n"
       "    L = cache[0].size(2)\n"
       "    assert R == 0 or int(positions.max()) < " + max_positions + too_long +
       "    x = torch.embedding(" + dec_tokens + ", tokens) * " + scale + " + " + dec_positions +
       ".index_select(0, positions).unsqueeze(1)\n"
       "    keep = torch.arange(L + 1, device=tokens.device).unsqueeze(0).ge((L - positions).unsqueeze(1))\n"
       "    return self.decode_layers(x, source_mask, keep.view(R, 1, 1, L + 1), cache)\n";
  return b.build(s);
}

}  // namespace attune::models
