#include "models/bert/script_export.h"

#include "core/error.h"
#include "models/attention/masks.h"

#include <cmath>
#include <limits>

namespace attune::models {
namespace {

using script::float_literal;

// Lines computing `out` = self-attention of `input` (B,T,E) merged back to (B,T,E), as
// MultiHeadAttentionImpl::forward followed by attend()'s math path: scores scaled by
// 1/sqrt(D), masked with float32's lowest value (not -inf), softmax, weighted values.
// shift, if not empty, names a (B,E) query shift (context-conditioned attention).
std::string attention_lines(script::ScriptModuleBuilder& b, MultiHeadAttentionImpl& mha, const std::string& input,
                            const std::string& out, bool with_bias, const std::string& shift) {
  const int64_t e = mha.options().embed_dim(), h = mha.options().num_heads(), d = e / h;
  const std::string heads = std::to_string(h) + ", " + std::to_string(d);
  auto split = [&](const std::string& x, const std::string& length) {
    return "(" + x + ").view(B, " + length + ", " + heads + ").transpose(1, 2)";
  };
  std::string s;
  const std::string query = b.linear(*mha.query, "attention_self_query", input);
  s += "    q = " + split(shift.empty() ? query : query + " + " + shift + ".unsqueeze(1)", "T") + "\n";
  s += "    k = " + split(b.linear(*mha.key, "attention_self_key", input), "T") + "\n";
  s += "    v = " + split(b.linear(*mha.value, "attention_self_value", input), "T") + "\n";
  if (mha.prefix()) {
    // Prefix tuning: P learned keys/values in front of every sequence, visible to every
    // query. PEFT recomputes them from its encoder each step; at inference they are constants.
    torch::NoGradGuard no_grad;
    auto [pk, pv] = mha.prefix()->keys_values();
    const int64_t p = pk.size(0);
    const std::string key = b.tensor("prefix_key", pk, /*parameter=*/false);
    const std::string value = b.tensor("prefix_value", pv, /*parameter=*/false);
    const std::string expand = ".unsqueeze(0).expand(B, " + std::to_string(p) + ", " + std::to_string(e) + ")";
    s += "    k = torch.cat([" + split(key + expand, std::to_string(p)) + ", k], 2)\n";
    s += "    v = torch.cat([" + split(value + expand, std::to_string(p)) + ", v], 2)\n";
    // keep is (B,1,1,T), or (B,1,T,T) with an attention mask; the prefix columns are visible.
    s += "    keep = torch.cat([keep.new_ones([B, 1, keep.size(2), " + std::to_string(p) + "]), keep], -1)\n";
    if (with_bias) {
      s += "    bias = torch.cat([bias.new_zeros([bias.size(0), bias.size(1), bias.size(2), " + std::to_string(p) +
           "]), bias], -1)\n";
    }
  }
  s += script::attend_lines("q", "k", "v", "keep", "c", d, with_bias ? "bias" : "");
  s += "    " + out + " = c.transpose(1, 2).reshape(B, T, " + std::to_string(e) + ")\n";
  return s;
}

// Lines that narrow `keep` by the model's attention mask and compute its position `bias`
// (1,H,T,T), as EncoderAttention::mask_for. Masks of self-attention depend on positions
// only, so the mask over all position embeddings is built once and cut to T.
std::string switch_lines(script::ScriptModuleBuilder& b, BertModelImpl& model) {
  const EncoderAttentionOptions& o = model.options().attention();
  const int64_t positions = model.options().max_position_embeddings();
  std::string s;
  if (!o.mask.is_null()) {
    const torch::Tensor full = masks::MaskSpec(o.mask, "model.attention_mask").build(positions, positions);
    s += "    keep = keep.logical_and(" + b.tensor("attention_mask_allowed", full, /*parameter=*/false) +
         "[:T, :T].unsqueeze(0).unsqueeze(0))\n";
  }
  if (o.position_bias == "none") return s;
  s += "    rel = torch.arange(T, device=keep.device).unsqueeze(0) - torch.arange(T, device=keep.device).unsqueeze(1)\n";
  if (o.position_bias == "alibi") {
    const std::vector<double> slopes = masks::alibi_slopes(model.options().num_attention_heads());
    const torch::Tensor t = torch::tensor(slopes, torch::kDouble).to(torch::kFloat).view({-1, 1, 1});
    const std::string slope = b.tensor("alibi_slopes", t, /*parameter=*/false);
    s += "    bias = (-" + slope + " * rel.abs().type_as(" + slope + ")).unsqueeze(0)\n";
  } else {
    const int64_t m = o.relative_max_distance;
    const std::string table = b.tensor("relative_position_bias", model.encoder->extras.relative_position_bias->bias->weight);
    s += "    bias = " + table + "[rel.clamp(-" + std::to_string(m) + ", " + std::to_string(m) + ") + " +
         std::to_string(m) + "].permute(2, 0, 1).unsqueeze(0)\n";
  }
  return s;
}

// Lines computing `h`, the embeddings (B,T,H) of input_ids, as BertEmbeddingsImpl::forward
// then BertModelImpl's embeddings_project, for every model_type: positions 0.. (BERT,
// DistilBERT, ELECTRA) or counted from pad_token_id + 1 over the real tokens (RoBERTa), no
// token types when type_vocab_size is 0 (DistilBERT: token_type_ids is then ignored).
// past: a prefix's length (prefix tuning moves real tokens past the prefix).
std::string embedding_lines(script::ScriptModuleBuilder& b, BertModelImpl& model, int64_t past) {
  const BertOptions& o = model.options();
  BertEmbeddingsImpl& emb = *model.embeddings;
  const std::string longest = std::to_string(max_sequence_length(o));
  std::string s = "    assert " + std::to_string(past) + " + T <= " + longest + ", \"sequence longer than the model's " +
                  longest + (o.positions_from_padding() ? " positions (position embeddings less the padding offset)"
                                                        : " position embeddings") +
                  (past > 0 ? " (after a prefix of " + std::to_string(past) + ")" : "") + "\"\n";
  if (o.positions_from_padding()) {
    // create_position_ids_from_input_ids; cumsum of int64 stays int64 (dtype names such as
    // torch.long do not resolve in this source, hence ne(..).long()).
    const std::string pad = std::to_string(o.pad_token_id());
    s += "    real = input_ids.ne(" + pad + ").long()\n"
         "    positions = (torch.cumsum(real, 1) + " + std::to_string(past) + ") * real + " + pad + "\n";
  } else {
    // arange of ints is int64.
    s += "    positions = torch.arange(" + std::to_string(past) + ", " + std::to_string(past) +
         " + T, device=input_ids.device)\n";
  }
  // transformers' order (words, token types, then positions), as the eager sum: another
  // order differs in the last bits and the bundle must equal the run exactly.
  std::string sum = b.embedding(*emb.word_embeddings, "embeddings_word_embeddings", "input_ids");
  if (emb.token_type_embeddings) {
    s += script::token_types_lines("types");
    sum += " + " + b.embedding(*emb.token_type_embeddings, "embeddings_token_type_embeddings", "types");
  }
  sum += " + " + b.embedding(*emb.position_embeddings, "embeddings_position_embeddings", "positions");
  s += "    e = " + sum + "\n";
  s += "    h = " + b.layer_norm(*emb.layer_norm, "embeddings_LayerNorm", "e") + "\n";
  if (model.embeddings_project) {
    // ELECTRA with embedding_size != hidden_size.
    s += "    h = " + b.linear(*model.embeddings_project, "embeddings_project", "h") + "\n";
  }
  return s;
}

}  // namespace

torch::jit::Module script_encoder_layer(TransformerEncoderLayerImpl& layer, script::ClassNames& names, bool with_bias) {
  script::ScriptModuleBuilder b(names, "TransformerEncoderLayer");
  const Activation activation = parse_activation(layer.options().activation(), "model.activation");
  DenseLayerNormImpl& attn_out = *layer.attention->output;
  auto feed_forward = [&](const std::string& x) {
    const std::string inner = b.linear(*layer.intermediate->dense, "intermediate_dense", x);
    return b.linear(*layer.output->dense, "output_dense", script::activation_call(activation, inner));
  };
  const bool with_context = static_cast<bool>(layer.attention->context);
  std::string s =
      std::string("def forward(self, x: Tensor, keep: Tensor") + (with_bias ? ", bias: Tensor" : "") +
      (with_context ? ", context: Tensor" : "") + ") -> Tensor:\n"
      "    B = x.size(0)\n"
      "    T = x.size(1)\n";
  if (with_context) {
    // TransformerEncoderLayerImpl::forward: the context's linear map shifts every query.
    s += "    shift = " + b.linear(*layer.attention->context, "attention_context", "context") + "\n";
  }
  const std::string shift = with_context ? "shift" : "";
  // Dropout is the identity in eval mode, so the residual sums follow directly.
  if (layer.options().pre_layer_norm()) {
    // As the attune layer: attention.output.LayerNorm before attention, output.LayerNorm
    // before the feed-forward, no norm after the residual sums.
    s += "    n = " + b.layer_norm(*attn_out.layer_norm, "attention_output_LayerNorm", "x") + "\n";
    s += attention_lines(b, *layer.attention->self_attention, "n", "a", with_bias, shift);
    s += "    h = x + " + b.linear(*attn_out.dense, "attention_output_dense", "a") + "\n";
    s += "    return h + " + feed_forward(b.layer_norm(*layer.output->layer_norm, "output_LayerNorm", "h")) + "\n";
  } else {
    s += attention_lines(b, *layer.attention->self_attention, "x", "a", with_bias, shift);
    s += "    h = " +
         b.layer_norm(*attn_out.layer_norm, "attention_output_LayerNorm",
                      "x + " + b.linear(*attn_out.dense, "attention_output_dense", "a")) +
         "\n";
    s += "    return " + b.layer_norm(*layer.output->layer_norm, "output_LayerNorm", "h + " + feed_forward("h")) + "\n";
  }
  return b.build(s);
}

std::string layer_fusion_lines(script::ScriptModuleBuilder& b, CrossLayerFusionImpl& fusion, const std::string& outputs,
                               const std::string& out) {
  // As CrossLayerFusionImpl::forward.
  const double scale = 1.0 / std::sqrt(static_cast<double>(fusion.options().hidden_size()));
  return "    stacked = torch.stack(" + outputs + ", 2)\n"
         "    w = torch.softmax(torch.matmul(stacked, " + b.tensor("layer_fusion_query", fusion.query) + ") * " +
         float_literal(scale) + " + " + b.tensor("layer_fusion_layer_bias", fusion.layer_bias) + ", -1)\n"
         "    " + out + " = torch.matmul(w.unsqueeze(2), stacked).squeeze(2)\n";
}

torch::jit::Module script_bert(BertModelImpl& model, script::ClassNames& names) {
  const EncoderAttentionOptions& switches = model.options().attention();
  const bool with_bias = switches.position_bias != "none";
  // Submodules are defined before the parent, whose source calls their methods.
  std::vector<torch::jit::Module> layers;
  for (const auto& child : model.encoder->layer->children()) {
    auto* layer = child->as<TransformerEncoderLayerImpl>();
    TORCH_CHECK(layer != nullptr, "script export: BERT encoder layer of an unknown type");
    layers.push_back(script_encoder_layer(*layer, names, with_bias));
  }
  script::ScriptModuleBuilder b(names, "BertModel");
  BertEmbeddingsImpl& emb = *model.embeddings;
  const int64_t context_size = model.context_size();
  std::string s =
      std::string("def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None") +
      (context_size > 0 ? ", context: Optional[Tensor]=None" : "") + ") -> Tensor:\n"
      "    B = input_ids.size(0)\n"
      "    T = input_ids.size(1)\n";
  std::string context_arg;
  if (context_size > 0) {
    // The layers take a Tensor: unwrap the Optional once, failing as the eager layer does.
    s += "    c = torch.zeros([0])\n"
         "    if context is not None:\n"
         "        c = context\n"
         "    assert context is not None and c.dim() == 2 and c.size(0) == B and c.size(1) == " +
         std::to_string(context_size) + ", \"this model reads a context of " + std::to_string(context_size) +
         " values per example: context (batch, " + std::to_string(context_size) + ")\"\n";
    context_arg = ", c";
  }
  s += embedding_lines(b, model, emb.past_length());
  // padding_mask(): any dtype, non-zero = real token.
  s += "    keep = attention_mask.ne(0).view(B, 1, 1, T)\n";
  s += switch_lines(b, model);
  const std::string bias_arg = with_bias ? ", bias" : "";
  const bool fusion = static_cast<bool>(model.encoder->extras.layer_fusion);
  if (fusion) s += "    outputs: List[Tensor] = []\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    s += "    h = " + b.submodule("layer_" + std::to_string(i), layers[i]) + ".forward(h, keep" + bias_arg + context_arg +
         ")\n";
    if (fusion) s += "    outputs.append(h)\n";
  }
  if (fusion) s += layer_fusion_lines(b, *model.encoder->extras.layer_fusion, "outputs", "h");
  if (model.encoder->final_layer_norm) {
    s += "    h = " + b.layer_norm(*model.encoder->final_layer_norm, "encoder_final_layer_norm", "h") + "\n";
  }
  s += "    return h\n";
  if (model.pooler) {
    // BertPoolerImpl: tanh for BERT and RoBERTa, gelu for ELECTRA's head, relu for DistilBERT's.
    s += "\ndef pool(self, hidden: Tensor, attention_mask: Tensor) -> Tensor:\n"
         "    return " +
         script::activation_call(model.pooler->activation(),
                                 b.linear(*model.pooler->dense, "pooler_dense", "hidden.select(1, 0)")) +
         "\n";
  }
  return b.build(s);
}

}  // namespace attune::models
