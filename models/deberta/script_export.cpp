#include "models/deberta/script_export.h"

#include "models/deberta/relative_position.h"

namespace attune::models {
namespace {

using script::float_literal;

// (B,L,H) -> (B*heads, L, head_size), as transpose_for_scores.
std::string split(const std::string& x, const std::string& batch, const std::string& length,
                  const DisentangledSelfAttentionImpl& attention) {
  return "(" + x + ").view(" + batch + ", " + length + ", " + std::to_string(attention.heads()) +
         ", -1).permute(0, 2, 1, 3).contiguous().view(-1, " + length + ", " + std::to_string(attention.head_size()) + ")";
}

// One layer: forward(x, allowed, relative_pos, rel) -> Tensor; allowed (B,1,T,T) bool,
// relative_pos (T,T) int64 and rel the (2 * span, H) table after its LayerNorm (both
// unused without relative attention).
torch::jit::Module script_layer(DebertaV2LayerImpl& layer, script::ClassNames& names) {
  script::ScriptModuleBuilder b(names, "DebertaV2Layer");
  DisentangledSelfAttentionImpl& self = *layer.attention->self;
  const bool positions = self.relative_attention() && (self.c2p() || self.p2c());
  // Shared keys project both the tokens and the relative table: one method per projection
  // that is used twice, so its weights are stored once.
  auto projection = [&](LinearImpl& linear, const std::string& name) {
    b.add_method("def " + name + "(self, x: Tensor) -> Tensor:\n    return " + b.linear(linear, "attention_self_" + name, "x") + "\n");
    return "self." + name;
  };
  const std::string query_proj = projection(*self.query_proj, "query_proj");
  const std::string key_proj = projection(*self.key_proj, "key_proj");
  const std::string scale = float_literal(self.score_scale());
  const std::string two_span = std::to_string(2 * self.span()), span = std::to_string(self.span());
  std::string s =
      "def forward(self, x: Tensor, allowed: Tensor, relative_pos: Tensor, rel: Tensor) -> Tensor:\n"
      "    B = x.size(0)\n"
      "    T = x.size(1)\n"
      "    BH = B * " + std::to_string(self.heads()) + "\n";
  s += "    query = " + split(query_proj + "(x)", "B", "T", self) + "\n";
  s += "    key = " + split(key_proj + "(x)", "B", "T", self) + "\n";
  s += "    value = " + split(b.linear(*self.value_proj, "attention_self_value_proj", "x"), "B", "T", self) + "\n";
  s += "    scores = torch.bmm(query, key.transpose(-1, -2) / " + scale + ")\n";
  if (positions) {
    s += "    r = rel.narrow(0, 0, " + two_span + ").unsqueeze(0)\n";
    if (self.c2p()) {
      const std::string proj = self.share_att_key() ? key_proj + "(r)" : b.linear(*self.pos_key_proj, "attention_self_pos_key_proj", "r");
      s += "    pos_key = " + split(proj, "1", two_span, self) + ".repeat(B, 1, 1)\n"
           "    c2p = torch.bmm(query, pos_key.transpose(-1, -2))\n"
           "    c2p_pos = torch.clamp(relative_pos + " + span + ", 0, " + std::to_string(2 * self.span() - 1) + ")\n"
           "    relative = torch.gather(c2p, -1, c2p_pos.expand([BH, T, T])) / " + scale + "\n";
    }
    if (self.p2c()) {
      const std::string proj =
          self.share_att_key() ? query_proj + "(r)" : b.linear(*self.pos_query_proj, "attention_self_pos_query_proj", "r");
      s += "    pos_query = " + split(proj, "1", two_span, self) + ".repeat(B, 1, 1)\n"
           "    p2c = torch.bmm(key, pos_query.transpose(-1, -2))\n"
           "    p2c_pos = torch.clamp(-relative_pos + " + span + ", 0, " + std::to_string(2 * self.span() - 1) + ")\n"
           "    gathered = torch.gather(p2c, -1, p2c_pos.expand([BH, T, T])).transpose(-1, -2) / " + scale + "\n";
      s += self.c2p() ? "    relative = relative + gathered\n" : "    relative = gathered\n";
    }
    // The position terms are summed before they join the content scores, as relative_scores().
    s += "    scores = scores + relative\n";
  }
  s += "    scores = scores.view(B, " + std::to_string(self.heads()) + ", T, T).masked_fill(allowed.logical_not(), " +
       script::masked_score_literal() + ")\n"
       "    probs = torch.softmax(scores.float(), -1).type_as(scores)\n"
       "    context = torch.bmm(probs.view(-1, T, T), value)\n"
       "    context = context.view(B, " + std::to_string(self.heads()) + ", T, -1).permute(0, 2, 1, 3).contiguous().view(B, T, -1)\n";
  DebertaV2ResidualOutputImpl& attention_out = *layer.attention->output;
  s += "    h = " +
       b.layer_norm(*attention_out.layer_norm, "attention_output_LayerNorm",
                    b.linear(*attention_out.dense, "attention_output_dense", "context") + " + x") +
       "\n";
  const std::string inner = script::activation_call(
      layer.intermediate->activation(), b.linear(*layer.intermediate->dense, "intermediate_dense", "h"));
  s += "    return " +
       b.layer_norm(*layer.output->layer_norm, "output_LayerNorm",
                    b.linear(*layer.output->dense, "output_dense", inner) + " + h") +
       "\n";
  return b.build(s);
}

}  // namespace

torch::jit::Module script_deberta(DebertaV2ModelImpl& model, script::ClassNames& names) {
  const DebertaV2Options& o = model.options();
  std::vector<torch::jit::Module> layers;
  for (DebertaV2Layer layer : model.encoder->layers()) layers.push_back(script_layer(*layer, names));
  script::ScriptModuleBuilder b(names, "DebertaV2Model");
  DebertaV2EmbeddingsImpl& emb = *model.embeddings;
  const int64_t longest = o.max_position_embeddings();
  const std::string longest_text = std::to_string(longest);
  std::string s =
      "def forward(self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Optional[Tensor]=None) -> Tensor:\n"
      "    B = input_ids.size(0)\n"
      "    T = input_ids.size(1)\n"
      "    assert T <= " + longest_text + ", \"sequence longer than the model's " + longest_text + " positions\"\n";
  // transformers' order: words, then positions, then token types.
  std::string sum = b.embedding(*emb.word_embeddings, "embeddings_word_embeddings", "input_ids");
  if (emb.position_embeddings) {
    sum += " + " + b.embedding(*emb.position_embeddings, "embeddings_position_embeddings",
                               "torch.arange(T, device=input_ids.device).unsqueeze(0)");
  }
  if (emb.token_type_embeddings) {
    s += script::token_types_lines("types");
    sum += " + " + b.embedding(*emb.token_type_embeddings, "embeddings_token_type_embeddings", "types");
  }
  s += "    e = " + sum + "\n";
  if (emb.embed_proj) s += "    e = " + b.linear(*emb.embed_proj, "embeddings_embed_proj", "e") + "\n";
  // Padded positions enter the encoder as zeros; a pair may attend only when both are real.
  s += "    h = " + b.layer_norm(*emb.layer_norm, "embeddings_LayerNorm", "e") + " * attention_mask.unsqueeze(2).to(e.dtype)\n"
       "    real = attention_mask.ne(0)\n"
       "    allowed = real.unsqueeze(1).unsqueeze(2).logical_and(real.unsqueeze(1).unsqueeze(3))\n";
  if (o.relative_attention()) {
    // The bucket of every distance -(longest-1)..longest-1; relative_pos[i][j] is that of i - j.
    const torch::Tensor distances = relative_positions_of(torch::arange(-(longest - 1), longest, torch::kLong),
                                                          o.position_buckets(), deberta_relative_span(o));
    const std::string table = b.tensor("relative_buckets", distances, /*parameter=*/false);
    s += "    positions = torch.arange(T, device=input_ids.device)\n"
         "    relative_pos = " + table + ".index_select(0, (positions.unsqueeze(1) - positions.unsqueeze(0) + " +
         std::to_string(longest - 1) + ").view(-1)).view(T, T)\n";
    const std::string weight = b.tensor("encoder_rel_embeddings_weight", model.encoder->rel_embeddings->weight);
    s += "    rel = " +
         (model.encoder->layer_norm ? b.layer_norm(*model.encoder->layer_norm, "encoder_LayerNorm", weight) : weight) + "\n";
  } else {
    s += "    relative_pos = torch.zeros([0], device=input_ids.device)\n"
         "    rel = relative_pos\n";
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    s += "    h = " + b.submodule("layer_" + std::to_string(i), layers[i]) + ".forward(h, allowed, relative_pos, rel)\n";
  }
  s += "    return h\n";
  if (model.pooler) {
    s += "\ndef pool(self, hidden: Tensor, attention_mask: Tensor) -> Tensor:\n    return " +
         script::activation_call(model.pooler->activation(),
                                 b.linear(*model.pooler->dense, "pooler_dense", "hidden.select(1, 0)")) +
         "\n";
  }
  return b.build(s);
}

}  // namespace attune::models
