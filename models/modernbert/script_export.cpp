#include "models/modernbert/script_export.h"

namespace attune::models {
namespace {

using script::float_literal;

// One layer: forward(x, keep, cos, sin) -> Tensor, keep the bool mask of this layer's kind
// ((B,1,1,T) global, (B,1,T,T) local) and cos/sin its rotary tables (T, head_dim) in float32.
torch::jit::Module script_layer(ModernBertLayerImpl& layer, int64_t heads, script::ClassNames& names) {
  script::ScriptModuleBuilder b(names, "ModernBertLayer");
  const int64_t h = layer.attn->Wqkv->weight.size(1), d = h / heads;
  const Activation activation = layer.mlp->activation();
  std::string s =
      "def forward(self, x: Tensor, keep: Tensor, cos: Tensor, sin: Tensor) -> Tensor:\n"
      "    B = x.size(0)\n"
      "    T = x.size(1)\n";
  s += "    n = " + (layer.attn_norm ? b.layer_norm(*layer.attn_norm, "attn_norm", "x") : std::string("x")) + "\n";
  // (B,T,3,heads,D) -> three (B,heads,T,D), as ModernBertAttentionImpl.
  s += "    qkv = " + b.linear(*layer.attn->Wqkv, "attn_Wqkv", "n") + ".view(B, T, 3, " + std::to_string(heads) + ", " +
       std::to_string(d) + ").permute(2, 0, 3, 1, 4)\n"
       "    c = cos.type_as(qkv)\n"
       "    s = sin.type_as(qkv)\n";
  const std::string half = std::to_string(d / 2);
  for (const char* name : {"q", "k"}) {
    const std::string x = std::string(name) + "0";
    s += "    " + x + " = qkv[" + (name[0] == 'q' ? "0" : "1") + "]\n";
    s += "    " + std::string(name) + " = " + x + " * c + torch.cat([-" + x + ".narrow(-1, " + half + ", " + half +
         "), " + x + ".narrow(-1, 0, " + half + ")], -1) * s\n";
  }
  s += "    v = qkv[2]\n";
  s += script::attend_lines("q", "k", "v", "keep", "a", d);
  s += "    a = a.transpose(1, 2).reshape(B, T, " + std::to_string(h) + ")\n";
  s += "    h = x + " + b.linear(*layer.attn->Wo, "attn_Wo", "a") + "\n";
  // GeGLU: the first half of Wi's output through the activation, gated by the second.
  s += "    parts = torch.chunk(" + b.linear(*layer.mlp->Wi, "mlp_Wi", b.layer_norm(*layer.mlp_norm, "mlp_norm", "h")) +
       ", 2, -1)\n";
  s += "    return h + " + b.linear(*layer.mlp->Wo, "mlp_Wo", script::activation_call(activation, "parts[0]") + " * parts[1]") +
       "\n";
  return b.build(s);
}

// Lines setting cos_<tag>, sin_<tag> (T, D) at base theta, as rotary_tables() in float32.
std::string rotary_lines(const std::string& tag, double theta, int64_t head_dim) {
  return "    inv_freq = torch.reciprocal(torch.pow(" + float_literal(theta) + ", torch.arange(0, " +
         std::to_string(head_dim) + ", 2, device=input_ids.device).float() / " +
         float_literal(static_cast<double>(head_dim)) + "))\n"
         "    freqs = torch.outer(torch.arange(T, device=input_ids.device).float(), inv_freq)\n"
         "    emb = torch.cat([freqs, freqs], -1)\n"
         "    cos_" + tag + " = emb.cos()\n"
         "    sin_" + tag + " = emb.sin()\n";
}

}  // namespace

torch::jit::Module script_modernbert(ModernBertModelImpl& model, script::ClassNames& names) {
  const ModernBertOptions& o = model.options();
  std::vector<torch::jit::Module> layers;
  std::vector<bool> global;
  for (const auto& child : model.layers->children()) {
    auto* layer = child->as<ModernBertLayerImpl>();
    TORCH_CHECK(layer != nullptr, "script export: ModernBERT layer of an unknown type");
    layers.push_back(script_layer(*layer, o.num_attention_heads(), names));
    global.push_back(layer->attn->global());
  }
  script::ScriptModuleBuilder b(names, "ModernBertModel");
  const std::string longest = std::to_string(o.max_position_embeddings());
  const int64_t head_dim = o.hidden_size() / o.num_attention_heads();
  std::string s =
      "def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None) -> Tensor:\n"
      "    B = input_ids.size(0)\n"
      "    T = input_ids.size(1)\n"
      "    assert T <= " + longest + ", \"sequence longer than the model's " + longest + " positions\"\n";
  s += "    h = " +
       b.layer_norm(*model.embeddings->norm, "embeddings_norm",
                    b.embedding(*model.embeddings->tok_embeddings, "embeddings_tok_embeddings", "input_ids")) +
       "\n";
  // Local layers see |query - key| <= local_attention / 2, and only real keys.
  s += "    keep_global = attention_mask.ne(0).view(B, 1, 1, T)\n"
       "    positions = torch.arange(T, device=input_ids.device)\n"
       "    window = (positions.unsqueeze(0) - positions.unsqueeze(1)).abs().le(" +
       std::to_string(o.local_attention() / 2) + ").view(1, 1, T, T)\n"
       "    keep_local = window.logical_and(keep_global)\n";
  s += rotary_lines("global", o.global_rope_theta(), head_dim);
  s += rotary_lines("local", o.local_rope_theta(), head_dim);
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string kind = global[i] ? "global" : "local";
    s += "    h = " + b.submodule("layer_" + std::to_string(i), layers[i]) + ".forward(h, keep_" + kind + ", cos_" +
         kind + ", sin_" + kind + ")\n";
  }
  s += "    return " + b.layer_norm(*model.final_norm, "final_norm", "h") + "\n";
  if (model.head) {
    const Activation activation = model.head->activation();
    std::string pooled = "hidden.select(1, 0)";
    std::string lines;
    if (o.classifier_pooling() != "cls") {
      lines = "    real = attention_mask.unsqueeze(-1).to(hidden.dtype)\n";
      pooled = "(hidden * real).sum(1) / real.sum(1)";
    }
    s += "\ndef pool(self, hidden: Tensor, attention_mask: Tensor) -> Tensor:\n" + lines + "    return " +
         b.layer_norm(*model.head->norm, "head_norm",
                      script::activation_call(activation, b.linear(*model.head->dense, "head_dense", pooled))) +
         "\n";
  }
  return b.build(s);
}

}  // namespace attune::models
