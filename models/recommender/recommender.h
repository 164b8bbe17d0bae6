// Self-attentive sequential recommenders over item histories, one module for the family:
//   sasrec   causal self-attention, next item at every position (Kang & McAuley 2018)
//   bert4rec bidirectional, trained to fill masked items; [MASK] appended to predict (Sun et al. 2019)
//   context  sasrec's encoder plus target attention: each candidate item attends over the
//            history (as in Deep Interest Network), with scores biased by a context vector
//            built from the user's features
// Item embeddings are shared by input and output. Item 0 is padding, num_items + 1 is [MASK].
#pragma once
#include "models/common/linear.h"
#include "models/transformer/encoder_layer.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace attune::models {

struct SequentialRecommenderOptions {
  SequentialRecommenderOptions(int64_t num_items, int64_t max_length) : num_items_(num_items), max_length_(max_length) {}
  TORCH_ARG(int64_t, num_items);
  TORCH_ARG(int64_t, max_length);
  TORCH_ARG(std::string, kind) = "sasrec";  // recommender_kinds()
  TORCH_ARG(int64_t, hidden_size) = 64;
  TORCH_ARG(int64_t, num_layers) = 2;
  TORCH_ARG(int64_t, num_heads) = 2;
  TORCH_ARG(int64_t, intermediate_size) = 256;
  TORCH_ARG(double, dropout) = 0.2;
  // context: the number of distinct user feature values (0 = no user features).
  TORCH_ARG(int64_t, num_feature_values) = 0;
};

const std::vector<std::string>& recommender_kinds();

class SequentialRecommenderImpl : public torch::nn::Module {
 public:
  explicit SequentialRecommenderImpl(const SequentialRecommenderOptions& options);

  // items (B,T), left-padded with 0. Returns hidden states (B,T,H): causal for sasrec and
  // context, bidirectional for bert4rec. weights, if given, receives each layer's (B,heads,T,T).
  torch::Tensor encode(const torch::Tensor& items, std::vector<torch::Tensor>* weights = nullptr);

  // Scores of every item (…, num_items + 1) for states (…, H); padding and [MASK] columns
  // are the lowest value. Not for context (use context_scores).
  torch::Tensor all_item_scores(const torch::Tensor& states);
  // Scores of chosen candidates: states (B,T,H), candidates (B,T,M) -> (B,T,M).
  // context: every query position t attends over history positions <= t.
  torch::Tensor candidate_scores(const torch::Tensor& items, const torch::Tensor& states, const torch::Tensor& candidates,
                                 const torch::Tensor& features = {});
  // context, at the last position only, for every item: (B, num_items + 1), in chunks of items.
  torch::Tensor context_scores(const torch::Tensor& items, const torch::Tensor& states, const torch::Tensor& features = {},
                               torch::Tensor* attention = nullptr);

  // context: (B,F) feature value ids (0 = none) -> (B,H) context vector; undefined
  // without features.
  torch::Tensor context_vector(const torch::Tensor& features);

  const SequentialRecommenderOptions& options() const { return options_; }
  int64_t mask_id() const { return options_.num_items() + 1; }

  torch::nn::Embedding item_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};
  torch::Tensor output_bias;  // (num_items + 2)
  // context only
  Linear target_query{nullptr}, target_key{nullptr}, target_value{nullptr}, context_projection{nullptr};
  torch::nn::Embedding feature_embeddings{nullptr};

 private:
  // Candidate embeddings (B or 1, T, M, H) attending over the history's projected keys and
  // values (B, S, H); allowed (B, T, S) -> (B, T, M) interest · candidate.
  torch::Tensor target_attention(const torch::Tensor& candidate_emb, const torch::Tensor& keys, const torch::Tensor& values,
                                 const torch::Tensor& allowed, const torch::Tensor& context, torch::Tensor* attention);

  SequentialRecommenderOptions options_;
};
TORCH_MODULE(SequentialRecommender);

}  // namespace attune::models
