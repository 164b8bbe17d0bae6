#include "models/recommender/recommender.h"

#include <cmath>
#include <limits>

namespace attune::models {
namespace {

torch::Tensor masked_lowest(torch::Tensor scores, int64_t num_items) {
  const float lowest = std::numeric_limits<float>::lowest();
  scores = scores.to(torch::kFloat);
  scores.select(-1, 0).fill_(lowest);
  if (scores.size(-1) > num_items + 1) scores.narrow(-1, num_items + 1, scores.size(-1) - num_items - 1).fill_(lowest);
  return scores;
}

}  // namespace

const std::vector<std::string>& recommender_kinds() {
  static const std::vector<std::string> kinds = {"sasrec", "bert4rec", "context"};
  return kinds;
}

SequentialRecommenderImpl::SequentialRecommenderImpl(const SequentialRecommenderOptions& options) : options_(options) {
  const int64_t h = options.hidden_size();
  TORCH_CHECK(options.num_items() >= 1 && options.max_length() >= 2 && h % options.num_heads() == 0,
              "SequentialRecommender: bad sizes");
  item_embeddings = register_module(
      "item_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(options.num_items() + 2, h).padding_idx(0)));
  position_embeddings = register_module("position_embeddings", torch::nn::Embedding(options.max_length(), h));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.num_layers(); ++i) {
    layers->push_back(TransformerEncoderLayer(TransformerEncoderLayerOptions(h, options.num_heads(), options.intermediate_size())
                                                  .activation("gelu")
                                                  .hidden_dropout(options.dropout())
                                                  .attention_dropout(options.dropout())
                                                  .layer_norm_eps(1e-8)
                                                  .pre_layer_norm(true)));
  }
  final_norm = register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}).eps(1e-8)));
  output_bias = register_parameter("output_bias", torch::zeros({options.num_items() + 2}));
  torch::NoGradGuard no_grad;
  item_embeddings->weight.normal_(0.0, 0.02);
  item_embeddings->weight[0].zero_();
  position_embeddings->weight.normal_(0.0, 0.02);
  if (options.kind() == "context") {
    target_query = register_module("target_query", Linear(h, h));
    target_key = register_module("target_key", Linear(h, h));
    target_value = register_module("target_value", Linear(h, h));
    if (options.num_feature_values() > 0) {
      feature_embeddings = register_module(
          "feature_embeddings",
          torch::nn::Embedding(torch::nn::EmbeddingOptions(options.num_feature_values() + 1, h).padding_idx(0)));
      feature_embeddings->weight.normal_(0.0, 0.02);
      feature_embeddings->weight[0].zero_();
      // No bias: a user without features (all ids 0) gets a zero context, i.e. plain target attention.
      context_projection = register_module("context_projection", Linear(torch::nn::LinearOptions(h, h).bias(false)));
    }
  } else {
    TORCH_CHECK(options.kind() == "sasrec" || options.kind() == "bert4rec", "SequentialRecommender: unknown kind ",
                options.kind());
  }
}

torch::Tensor SequentialRecommenderImpl::encode(const torch::Tensor& items, std::vector<torch::Tensor>* weights) {
  const int64_t t = items.size(1);
  TORCH_CHECK(t <= options_.max_length(), "SequentialRecommender: ", t, " items exceed max_length ",
              options_.max_length());
  const torch::Tensor real = items.ne(0);
  // Positions count back from the newest item, so the newest always has the same
  // embedding however long the history is (histories are left-padded).
  const torch::Tensor positions = torch::arange(t, items.options()).flip(0);
  torch::Tensor x = item_embeddings->forward(items) * std::sqrt(static_cast<double>(options_.hidden_size())) +
                    position_embeddings->forward(positions).unsqueeze(0);
  x = torch::dropout(x, options_.dropout(), is_training()) * real.unsqueeze(-1).to(x.dtype());
  // Keys: real items (and, for causal kinds, not later ones). A padded query may see
  // itself so that no row is empty; its output is never used.
  torch::Tensor allowed = real.view({items.size(0), 1, 1, t});
  const torch::Tensor self = torch::eye(t, items.options().dtype(torch::kBool)).view({1, 1, t, t});
  if (options_.kind() != "bert4rec") {
    allowed = allowed.logical_and(torch::ones({t, t}, items.options().dtype(torch::kBool)).tril().view({1, 1, t, t}));
  }
  allowed = allowed.logical_or(self);
  for (const auto& layer : *layers) {
    torch::Tensor w;
    x = layer->as<TransformerEncoderLayer>()->forward(x, allowed, weights ? &w : nullptr);
    if (weights) weights->push_back(w);
    x = x * real.unsqueeze(-1).to(x.dtype());
  }
  return final_norm->forward(x);
}

torch::Tensor SequentialRecommenderImpl::all_item_scores(const torch::Tensor& states) {
  TORCH_CHECK(options_.kind() != "context", "all_item_scores: the context kind scores with context_scores");
  return masked_lowest(torch::matmul(states, item_embeddings->weight.t()) + output_bias, options_.num_items());
}

torch::Tensor SequentialRecommenderImpl::context_vector(const torch::Tensor& features) {
  if (!feature_embeddings || !features.defined() || features.numel() == 0) return {};
  // Id 0 (no value) contributes nothing, whatever its embedding row holds.
  const torch::Tensor present = features.ne(0).unsqueeze(-1);
  return context_projection->forward((feature_embeddings->forward(features) * present).sum(1));
}

torch::Tensor SequentialRecommenderImpl::target_attention(const torch::Tensor& candidate_emb, const torch::Tensor& keys,
                                                          const torch::Tensor& values, const torch::Tensor& allowed,
                                                          const torch::Tensor& context, torch::Tensor* attention) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(options_.hidden_size()));
  // (B or 1, T, M, H) x (B, 1, H, S): candidates shared by every user broadcast, unprojected B times.
  const torch::Tensor queries = target_query->forward(candidate_emb);
  torch::Tensor logits = torch::matmul(queries, keys.unsqueeze(1).transpose(-1, -2)) * scale;  // (B,T,M,S)
  if (context.defined()) {
    // The context term: the same history item weighs more or less for different users.
    logits = logits + (torch::einsum("bh,bsh->bs", {context, keys}) * scale).view({keys.size(0), 1, 1, keys.size(1)});
  }
  logits = logits.to(torch::kFloat).masked_fill(allowed.unsqueeze(2).logical_not(), std::numeric_limits<float>::lowest());
  // A query with no visible history (padding) gets no interest rather than a uniform mix.
  const torch::Tensor weights = (torch::softmax(logits, -1) * allowed.unsqueeze(2)).to(values.dtype());
  if (attention) *attention = weights;
  const torch::Tensor interest = torch::matmul(weights, values.unsqueeze(1));  // (B,T,M,H)
  return (interest * candidate_emb).sum(-1);
}

torch::Tensor SequentialRecommenderImpl::candidate_scores(const torch::Tensor& items, const torch::Tensor& states,
                                                          const torch::Tensor& candidates, const torch::Tensor& features) {
  const torch::Tensor emb = item_embeddings->forward(candidates);  // (B,T,M,H)
  torch::Tensor scores = (states.unsqueeze(2) * emb).sum(-1) + output_bias.index_select(0, candidates.flatten()).view(candidates.sizes());
  if (options_.kind() != "context") return scores;
  const int64_t t = items.size(1);
  const torch::Tensor causal = torch::ones({t, t}, items.options().dtype(torch::kBool)).tril().unsqueeze(0);
  const torch::Tensor allowed = causal.logical_and(items.ne(0).unsqueeze(1));  // (B,T,S)
  return scores + target_attention(emb, target_key->forward(states), target_value->forward(states), allowed,
                                   context_vector(features), nullptr);
}

torch::Tensor SequentialRecommenderImpl::context_scores(const torch::Tensor& items, const torch::Tensor& states,
                                                        const torch::Tensor& features, torch::Tensor* attention) {
  TORCH_CHECK(options_.kind() == "context", "context_scores: only for the context kind");
  const int64_t b = items.size(0), n = options_.num_items() + 2;
  const torch::Tensor last = states.select(1, states.size(1) - 1);  // (B,H)
  const torch::Tensor allowed = items.ne(0).unsqueeze(1);           // (B,1,S)
  const torch::Tensor context = context_vector(features);
  // The history's keys and values once, for every chunk of candidate items.
  const torch::Tensor keys = target_key->forward(states), values = target_value->forward(states);
  std::vector<torch::Tensor> chunks;
  std::vector<torch::Tensor> attention_chunks;
  // Chunks of items bound the (B, items, S) attention tensor.
  const int64_t chunk = std::max<int64_t>(256, (int64_t{1} << 24) / std::max<int64_t>(1, b * items.size(1) * 4));
  for (int64_t from = 0; from < n; from += chunk) {
    const int64_t len = std::min(chunk, n - from);
    const torch::Tensor emb = item_embeddings->weight.narrow(0, from, len).view({1, 1, len, -1});
    torch::Tensor a;
    const torch::Tensor interest = target_attention(emb, keys, values, allowed, context, attention ? &a : nullptr).squeeze(1);
    chunks.push_back(torch::matmul(last, item_embeddings->weight.narrow(0, from, len).t()) +
                     output_bias.narrow(0, from, len) + interest);
    if (attention) attention_chunks.push_back(a.squeeze(1));
  }
  if (attention) *attention = torch::cat(attention_chunks, 1);
  return masked_lowest(torch::cat(chunks, 1), options_.num_items());
}

}  // namespace attune::models
