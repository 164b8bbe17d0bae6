#include "models/recommender/script_export.h"

#include "models/bert/script_export.h"

#include <cmath>
#include <limits>

namespace attune::models {

int64_t script_history_length(const SequentialRecommenderImpl& model) {
  return model.options().kind() == "bert4rec" ? model.options().max_length() - 1 : model.options().max_length();
}

torch::jit::Module script_recommender(SequentialRecommenderImpl& model, script::ClassNames& names) {
  const SequentialRecommenderOptions& o = model.options();
  TORCH_CHECK(o.kind() == "sasrec" || o.kind() == "bert4rec", "script export: the ", o.kind(),
              " recommender cannot be scripted (sasrec and bert4rec can)");
  // Submodules are defined before the parent, whose source calls their methods.
  std::vector<torch::jit::Module> layers;
  for (const auto& child : *model.layers) {
    auto* layer = child->as<TransformerEncoderLayerImpl>();
    TORCH_CHECK(layer != nullptr, "script export: recommender layer of an unknown type");
    layers.push_back(script_encoder_layer(*layer, names));
  }
  script::ScriptModuleBuilder b(names, "SequentialRecommender");
  const std::string items = b.tensor("item_embeddings_weight", model.item_embeddings->weight);
  const std::string positions = b.tensor("position_embeddings_weight", model.position_embeddings->weight);
  const std::string n = std::to_string(o.num_items()), max_length = std::to_string(o.max_length());
  const std::string lowest = script::float_literal(std::numeric_limits<float>::lowest());
  std::string s = "def forward(self, items: Tensor) -> Tensor:\n"
                  "    B = items.size(0)\n";
  // bert4rec predicts at a [MASK] after the history.
  if (o.kind() == "bert4rec") s += "    items = torch.cat([items, items.new_full([B, 1], " + std::to_string(model.mask_id()) + ")], 1)\n";
  s += "    T = items.size(1)\n"
       "    assert T <= " + max_length + ", \"history longer than the model's " +
       std::to_string(script_history_length(model)) + " items\"\n";
  // As SequentialRecommenderImpl::encode: positions count back from the newest item;
  // padding rows are zeroed after the embeddings and after every layer.
  s += "    real = items.ne(0).unsqueeze(-1)\n"
       "    pos = torch.arange(T, device=items.device).flip([0])\n"
       "    x = torch.embedding(" + items + ", items) * " + script::float_literal(std::sqrt(static_cast<double>(o.hidden_size()))) +
       " + torch.embedding(" + positions + ", pos).unsqueeze(0)\n"
       "    x = x * real.to(x.dtype)\n"
       "    allowed = items.ne(0).view(B, 1, 1, T)\n";
  if (o.kind() != "bert4rec") {
    s += "    allowed = allowed.logical_and(torch.ones([T, T], device=items.device).tril().ne(0).view(1, 1, T, T))\n";
  }
  s += "    allowed = allowed.logical_or(torch.eye(T, device=items.device).ne(0).view(1, 1, T, T))\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    s += "    x = " + b.submodule("layer_" + std::to_string(i), layers[i]) + ".forward(x, allowed)\n"
         "    x = x * real.to(x.dtype)\n";
  }
  s += "    x = " + b.layer_norm(*model.final_norm, "final_norm", "x") + "\n";
  // As all_item_scores at the newest position, padding and [MASK] columns lowest.
  s += "    scores = torch.matmul(x.select(1, T - 1), " + items + ".t()) + " + b.tensor("output_bias", model.output_bias) + "\n"
       "    scores.select(1, 0).fill_(" + lowest + ")\n"
       "    scores.narrow(1, " + n + " + 1, 1).fill_(" + lowest + ")\n"
       "    return scores\n";
  return b.build(s);
}

}  // namespace attune::models
