#include "models/bert/script_export.h"

#include <cmath>
#include <limits>

namespace attune::models {
namespace {

using script::float_literal;

// Lines computing `out` = self-attention of `input` (B,T,E) merged back to (B,T,E), as
// MultiHeadAttentionImpl::forward followed by attend()'s math path: scores scaled by
// 1/sqrt(D), masked with float32's lowest value (not -inf), softmax, weighted values.
std::string attention_lines(script::ScriptModuleBuilder& b, MultiHeadAttentionImpl& mha, const std::string& input,
                            const std::string& out) {
  const int64_t e = mha.options().embed_dim(), h = mha.options().num_heads(), d = e / h;
  const std::string heads = std::to_string(h) + ", " + std::to_string(d);
  auto split = [&](const std::string& x, const std::string& length) {
    return "(" + x + ").view(B, " + length + ", " + heads + ").transpose(1, 2)";
  };
  std::string s;
  s += "    q = " + split(b.linear(*mha.query, "attention_self_query", input), "T") + "\n";
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
    s += "    keep = torch.cat([keep.new_ones([B, 1, 1, " + std::to_string(p) + "]), keep], -1)\n";
  }
  s += script::attend_lines("q", "k", "v", "keep", "c", d);
  s += "    " + out + " = c.transpose(1, 2).reshape(B, T, " + std::to_string(e) + ")\n";
  return s;
}

}  // namespace

torch::jit::Module script_encoder_layer(TransformerEncoderLayerImpl& layer, script::ClassNames& names) {
  script::ScriptModuleBuilder b(names, "TransformerEncoderLayer");
  const Activation activation = parse_activation(layer.options().activation(), "model.activation");
  DenseLayerNormImpl& attn_out = *layer.attention->output;
  auto feed_forward = [&](const std::string& x) {
    const std::string inner = b.linear(*layer.intermediate->dense, "intermediate_dense", x);
    return b.linear(*layer.output->dense, "output_dense", script::activation_call(activation, inner));
  };
  std::string s =
      "def forward(self, x: Tensor, keep: Tensor) -> Tensor:\n"
      "    B = x.size(0)\n"
      "    T = x.size(1)\n";
  // Dropout is the identity in eval mode, so the residual sums follow directly.
  if (layer.options().pre_layer_norm()) {
    // As the attune layer: attention.output.LayerNorm before attention, output.LayerNorm
    // before the feed-forward, no norm after the residual sums.
    s += "    n = " + b.layer_norm(*attn_out.layer_norm, "attention_output_LayerNorm", "x") + "\n";
    s += attention_lines(b, *layer.attention->self_attention, "n", "a");
    s += "    h = x + " + b.linear(*attn_out.dense, "attention_output_dense", "a") + "\n";
    s += "    return h + " + feed_forward(b.layer_norm(*layer.output->layer_norm, "output_LayerNorm", "h")) + "\n";
  } else {
    s += attention_lines(b, *layer.attention->self_attention, "x", "a");
    s += "    h = " +
         b.layer_norm(*attn_out.layer_norm, "attention_output_LayerNorm",
                      "x + " + b.linear(*attn_out.dense, "attention_output_dense", "a")) +
         "\n";
    s += "    return " + b.layer_norm(*layer.output->layer_norm, "output_LayerNorm", "h + " + feed_forward("h")) + "\n";
  }
  return b.build(s);
}

torch::jit::Module script_bert(BertModelImpl& model, script::ClassNames& names) {
  // Submodules are defined before the parent, whose source calls their methods.
  std::vector<torch::jit::Module> layers;
  for (const auto& child : model.encoder->layer->children()) {
    auto* layer = child->as<TransformerEncoderLayerImpl>();
    TORCH_CHECK(layer != nullptr, "script export: BERT encoder layer of an unknown type");
    layers.push_back(script_encoder_layer(*layer, names));
  }
  script::ScriptModuleBuilder b(names, "BertModel");
  BertEmbeddingsImpl& emb = *model.embeddings;
  const int64_t past = emb.past_length();  // prefix tuning moves real tokens past the prefix
  const int64_t positions = model.options().max_position_embeddings();
  std::string s =
      "def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None) -> Tensor:\n"
      "    B = input_ids.size(0)\n"
      "    T = input_ids.size(1)\n";
  s += "    assert " + std::to_string(past) + " + T <= " + std::to_string(positions) +
       ", \"sequence longer than the model's " + std::to_string(positions) + " position embeddings" +
       (past > 0 ? " (after a prefix of " + std::to_string(past) + ")" : "") + "\"\n";
  s += "    if token_type_ids is None:\n"
       "        types = torch.zeros_like(input_ids)\n"
       "    else:\n"
       "        types = token_type_ids\n";
  // arange of ints is int64 (dtype names such as torch.long do not resolve here).
  s += "    positions = torch.arange(" + std::to_string(past) + ", " + std::to_string(past) +
       " + T, device=input_ids.device)\n";
  s += "    e = " + b.embedding(*emb.word_embeddings, "embeddings_word_embeddings", "input_ids") + " + " +
       b.embedding(*emb.token_type_embeddings, "embeddings_token_type_embeddings", "types") + " + " +
       b.embedding(*emb.position_embeddings, "embeddings_position_embeddings", "positions") + "\n";
  s += "    h = " + b.layer_norm(*emb.layer_norm, "embeddings_LayerNorm", "e") + "\n";
  // padding_mask(): any dtype, non-zero = real token.
  s += "    keep = attention_mask.ne(0).view(B, 1, 1, T)\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    s += "    h = " + b.submodule("layer_" + std::to_string(i), layers[i]) + ".forward(h, keep)\n";
  }
  if (model.encoder->final_layer_norm) {
    s += "    h = " + b.layer_norm(*model.encoder->final_layer_norm, "encoder_final_layer_norm", "h") + "\n";
  }
  s += "    return h\n";
  if (model.pooler) {
    s += "\ndef pool(self, hidden: Tensor) -> Tensor:\n"
         "    return torch.tanh(" + b.linear(*model.pooler->dense, "pooler_dense", "hidden.select(1, 0)") + ")\n";
  }
  return b.build(s);
}

}  // namespace attune::models
