// The sequential recommenders' attention: what each position may see.
#include "tests/catch.h"

#include "models/recommender/recommender.h"

using attune::models::SequentialRecommender;
using attune::models::SequentialRecommenderOptions;

namespace {

SequentialRecommender tiny_recommender(const std::string& kind, int64_t features = 0) {
  torch::manual_seed(5);
  SequentialRecommender m(SequentialRecommenderOptions(30, 8)
                              .kind(kind)
                              .hidden_size(16)
                              .num_layers(2)
                              .num_heads(2)
                              .intermediate_size(32)
                              .dropout(0.0)
                              .num_feature_values(features));
  m->eval();
  return m;
}

torch::Tensor histories() { return torch::tensor({0, 0, 3, 7, 9, 2, 11, 5, 4, 8, 15, 16, 23, 1, 2, 29}).view({2, 8}); }

}  // namespace

TEST_CASE("sasrec and context: changing a later item leaves earlier outputs unchanged", "[recommender]") {
  torch::NoGradGuard no_grad;
  for (const std::string kind : {"sasrec", "context"}) {
    INFO(kind);
    SequentialRecommender m = tiny_recommender(kind);
    const torch::Tensor a = histories();
    torch::Tensor b = a.clone();
    b.index_put_({torch::indexing::Slice(), 5}, torch::tensor({20, 21}));  // position 5 of both rows
    const torch::Tensor ha = m->encode(a), hb = m->encode(b);
    CHECK(torch::allclose(ha.narrow(1, 0, 5), hb.narrow(1, 0, 5), 0.0, 1e-6));
    CHECK((ha.narrow(1, 5, 3) - hb.narrow(1, 5, 3)).abs().max().item<double>() > 1e-3);
    // Candidate scores at a position depend on the history up to it only (target attention too).
    const torch::Tensor candidates = torch::randint(1, 31, {2, 8, 3});
    const torch::Tensor sa = m->candidate_scores(a, ha, candidates), sb = m->candidate_scores(b, hb, candidates);
    CHECK(torch::allclose(sa.narrow(1, 0, 5), sb.narrow(1, 0, 5), 0.0, 1e-5));
  }
}

TEST_CASE("bert4rec is bidirectional: a later item changes earlier outputs", "[recommender]") {
  torch::NoGradGuard no_grad;
  SequentialRecommender m = tiny_recommender("bert4rec");
  const torch::Tensor a = histories();
  torch::Tensor b = a.clone();
  b.index_put_({torch::indexing::Slice(), 6}, torch::tensor({20, 21}));
  CHECK((m->encode(a).narrow(1, 2, 3) - m->encode(b).narrow(1, 2, 3)).abs().max().item<double>() > 1e-3);
}

TEST_CASE("padding in front of a history changes nothing", "[recommender]") {
  torch::NoGradGuard no_grad;
  SequentialRecommender m = tiny_recommender("sasrec");
  const torch::Tensor shorter = torch::tensor({0, 0, 0, 0, 0, 3, 7, 9}).view({1, 8});
  const torch::Tensor longer = torch::tensor({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 7, 9}).view({1, 16});
  SequentialRecommender wide(SequentialRecommenderOptions(30, 16).kind("sasrec").hidden_size(16).num_layers(2)
                                 .num_heads(2).intermediate_size(32).dropout(0.0));
  wide->eval();
  // Same weights; positions count back from the newest item, so the extra table rows are unused.
  auto wide_parameters = wide->named_parameters();
  for (const auto& item : m->named_parameters()) {
    const std::string& name = item.key();
    const torch::Tensor& t = item.value();
    torch::Tensor w = wide_parameters[name];
    if (name == "position_embeddings.weight") w.narrow(0, 0, 8).copy_(t);
    else w.copy_(t);
  }
  const torch::Tensor a = m->all_item_scores(m->encode(shorter).select(1, 7));
  const torch::Tensor b = wide->all_item_scores(wide->encode(longer).select(1, 15));
  CHECK(torch::allclose(a, b, 1e-5, 1e-5));
}

TEST_CASE("context attention: user features bias the scores; no features is plain target attention", "[recommender]") {
  torch::NoGradGuard no_grad;
  SequentialRecommender m = tiny_recommender("context", /*features=*/4);
  m->feature_embeddings->weight.normal_(0.0, 1.0);  // trained features, not the small initial ones
  const torch::Tensor items = histories();
  const torch::Tensor states = m->encode(items);
  const torch::Tensor plain = m->context_scores(items, states);
  const torch::Tensor none = m->context_scores(items, states, torch::zeros({2, 2}, torch::kLong));
  const torch::Tensor some = m->context_scores(items, states, torch::tensor({1, 3, 2, 4}).view({2, 2}));
  CHECK(torch::allclose(plain, none, 0.0, 1e-6));
  CHECK((plain - some).narrow(1, 1, 30).abs().max().item<double>() > 1e-4);
  // Full-catalogue scores equal per-candidate scores at the newest position.
  const torch::Tensor candidates = torch::arange(1, 31).view({1, 1, 30}).expand({2, 8, 30}).contiguous();
  const torch::Tensor per = m->candidate_scores(items, states, candidates, torch::tensor({1, 3, 2, 4}).view({2, 2}));
  CHECK(torch::allclose(per.select(1, 7), some.narrow(1, 1, 30), 1e-5, 1e-5));
  // Padding and [MASK] are never recommended.
  CHECK(some.select(1, 0).max().item<float>() == std::numeric_limits<float>::lowest());
  CHECK(some.select(1, 31).max().item<float>() == std::numeric_limits<float>::lowest());
}
