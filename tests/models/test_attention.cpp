#include "models/attention/attention.h"
#include "models/common/fusion.h"
#include "models/peft/ia3/layer.h"
#include "models/peft/lora/layer.h"
#include "tests/catch.h"
#include "tests/models/reference.h"

#include <map>
#include <set>

using attune::models::attend;
using attune::models::MultiHeadAttention;
using attune::models::MultiHeadAttentionOptions;
using attune::models::padding_mask;
using attune::testing::naive_attention;

using attune::testing::close;
using attune::testing::kDouble;

namespace {

struct Qkv {
  torch::Tensor q, k, v;
};

Qkv random_qkv(int64_t b, int64_t h, int64_t t, int64_t s, int64_t d) {
  return {torch::randn({b, h, t, d}, kDouble), torch::randn({b, h, s, d}, kDouble), torch::randn({b, h, s, d}, kDouble)};
}

// (B,S) lengths -> 1/0 int64 attention mask.
torch::Tensor lengths_mask(const std::vector<int64_t>& lengths, int64_t s) {
  torch::Tensor m = torch::zeros({static_cast<int64_t>(lengths.size()), s}, torch::kLong);
  for (size_t b = 0; b < lengths.size(); ++b) m[b].narrow(0, 0, lengths[b]).fill_(1);
  return m;
}

// Compares attend() with and without requested weights against the loop reference.
void check_against_reference(const Qkv& x, const torch::Tensor& mask, bool causal) {
  torch::Tensor ref_weights;
  const torch::Tensor ref = naive_attention(x.q, x.k, x.v, mask, causal, &ref_weights);
  torch::Tensor weights;
  CHECK(close(attend(x.q, x.k, x.v, mask, causal, 0.0, false, &weights), ref));
  CHECK(close(weights, ref_weights));
  CHECK(close(attend(x.q, x.k, x.v, mask, causal, 0.0, false), ref));
}

}  // namespace

TEST_CASE("attend matches the loop reference", "[attention]") {
  torch::manual_seed(1);
  const Qkv x = random_qkv(2, 3, 4, 6, 5);
  SECTION("no mask") { check_against_reference(x, {}, false); }
  SECTION("bool padding mask") { check_against_reference(x, padding_mask(lengths_mask({6, 2}, 6)), false); }
  SECTION("additive mask per query and key") {
    check_against_reference(x, torch::randn({2, 1, 4, 6}, kDouble) * 3, false);
  }
  SECTION("causal, keys aligned to the end of a longer key sequence") { check_against_reference(x, {}, true); }
  SECTION("causal with padding") {
    const Qkv square = random_qkv(2, 3, 5, 5, 4);
    check_against_reference(square, {}, true);
    check_against_reference(square, padding_mask(lengths_mask({5, 3}, 5)), true);
  }
  SECTION("causal with an additive mask") {
    const Qkv square = random_qkv(1, 2, 4, 4, 3);
    check_against_reference(square, torch::randn({1, 2, 4, 4}, kDouble), true);
  }
}

TEST_CASE("attention weights are distributions that ignore masked keys", "[attention]") {
  torch::manual_seed(2);
  const Qkv x = random_qkv(2, 2, 3, 5, 4);
  torch::Tensor weights;
  attend(x.q, x.k, x.v, padding_mask(lengths_mask({5, 2}, 5)), false, 0.0, false, &weights);
  REQUIRE(weights.sizes() == torch::IntArrayRef({2, 2, 3, 5}));
  CHECK(close(weights.sum(-1), torch::ones({2, 2, 3}, kDouble)));
  CHECK(weights[1].narrow(-1, 2, 3).abs().max().item<double>() == 0.0);
  CHECK(weights[1].narrow(-1, 0, 2).min().item<double>() > 0.0);
}

TEST_CASE("a query with every key masked gives finite output", "[attention]") {
  torch::manual_seed(3);
  const Qkv x = random_qkv(2, 2, 3, 4, 4);
  const torch::Tensor mask = padding_mask(lengths_mask({4, 0}, 4));
  for (const auto dtype : {torch::kDouble, torch::kFloat}) {
    torch::Tensor weights;
    const torch::Tensor out = attend(x.q.to(dtype), x.k.to(dtype), x.v.to(dtype), mask, false, 0.0, false, &weights);
    CHECK(torch::isfinite(out).all().item<bool>());
    CHECK(torch::isfinite(weights).all().item<bool>());
    // As Hugging Face: the lowest-value mask leaves a uniform average over all keys.
    CHECK(close(out[1], x.v[1].mean(1, true).expand({2, 3, 4}), 1e-5));
    CHECK(torch::isfinite(attend(x.q.to(dtype), x.k.to(dtype), x.v.to(dtype), mask, false, 0.0, false)).all().item<bool>());
  }
}

TEST_CASE("attend keeps half-precision inputs' dtype", "[attention]") {
  torch::manual_seed(4);
  const Qkv x = random_qkv(1, 2, 3, 3, 8);
  torch::Tensor weights;
  const torch::Tensor out = attend(x.q.to(torch::kBFloat16), x.k.to(torch::kBFloat16), x.v.to(torch::kBFloat16),
                                   padding_mask(lengths_mask({2}, 3)), true, 0.0, false, &weights);
  CHECK(out.scalar_type() == torch::kBFloat16);
  CHECK(weights.scalar_type() == torch::kBFloat16);
  CHECK(close(out, naive_attention(x.q, x.k, x.v, padding_mask(lengths_mask({2}, 3)), true), 5e-2));
}

TEST_CASE("attention dropout acts on probabilities in training only", "[attention]") {
  torch::manual_seed(5);
  const Qkv x = random_qkv(2, 2, 6, 6, 4);
  torch::Tensor eval_weights, train_weights;
  const torch::Tensor eval = attend(x.q, x.k, x.v, {}, false, 0.5, false, &eval_weights);
  const torch::Tensor train = attend(x.q, x.k, x.v, {}, false, 0.5, true, &train_weights);
  CHECK(close(eval, naive_attention(x.q, x.k, x.v, {}, false)));
  CHECK(close(train_weights, eval_weights));  // weights are taken before dropout
  CHECK_FALSE(close(train, eval, 1e-3));
}

TEST_CASE("attend rejects malformed inputs", "[attention]") {
  const Qkv x = random_qkv(1, 1, 2, 3, 4);
  CHECK_THROWS(attend(x.q, x.k, x.v, torch::ones({1, 1, 1, 3}, torch::kLong), false, 0.0, false));
  CHECK_THROWS(attend(x.q, x.k, x.v.narrow(2, 0, 2), {}, false, 0.0, false));
  CHECK_THROWS(attend(x.k, x.q, x.q, {}, true, 0.0, false));  // causal with fewer keys than queries
  CHECK_THROWS(padding_mask(torch::ones({3}, torch::kLong)));
}

TEST_CASE("padding_mask turns 1/0 masks into broadcastable bool masks", "[attention]") {
  const torch::Tensor m = padding_mask(torch::tensor({1, 1, 0}, torch::kLong).view({1, 3}));
  CHECK(m.scalar_type() == torch::kBool);
  CHECK(m.sizes() == torch::IntArrayRef({1, 1, 1, 3}));
  CHECK(m.flatten().equal(torch::tensor({true, true, false})));
  CHECK(padding_mask(torch::tensor({1.0, 0.0}).view({1, 2})).flatten().equal(torch::tensor({true, false})));
}

TEST_CASE("MultiHeadAttention splits heads like per-head attention", "[attention]") {
  torch::manual_seed(6);
  MultiHeadAttention mha(MultiHeadAttentionOptions(12, 3));
  mha->to(torch::kDouble);
  mha->eval();
  std::vector<std::string> names;
  for (const auto& p : mha->named_parameters()) names.push_back(p.key());
  CHECK(names == std::vector<std::string>{"query.weight", "query.bias", "key.weight", "key.bias", "value.weight",
                                          "value.bias"});

  const torch::Tensor x = torch::randn({2, 4, 12}, kDouble);
  const torch::Tensor mask = padding_mask(lengths_mask({4, 3}, 4));
  const torch::Tensor out = mha->forward(x, {}, mask);
  REQUIRE(out.sizes() == torch::IntArrayRef({2, 4, 12}));
  auto ref = attune::testing::naive_multi_head(x, x, mha->query->weight, mha->query->bias, mha->key->weight,
                                               mha->key->bias, mha->value->weight, mha->value->bias, 3, mask);
  CHECK(close(out, ref));

  SECTION("cross-attention reads keys and values from the context") {
    const torch::Tensor context = torch::randn({2, 7, 12}, kDouble);
    torch::Tensor weights;
    const torch::Tensor cross = mha->forward(x, context, {}, false, &weights);
    CHECK(weights.sizes() == torch::IntArrayRef({2, 3, 4, 7}));
    CHECK(close(cross, attune::testing::naive_multi_head(x, context, mha->query->weight, mha->query->bias,
                                                         mha->key->weight, mha->key->bias, mha->value->weight,
                                                         mha->value->bias, 3, {})));
  }
}

TEST_CASE("MultiHeadAttention needs embed_dim divisible by num_heads", "[attention]") {
  try {
    MultiHeadAttention(MultiHeadAttentionOptions(10, 3));
    FAIL("no error");
  } catch (const c10::Error& e) {
    CHECK(std::string(e.what()).find("embed_dim 10 is not divisible by num_heads 3") != std::string::npos);
  }
}

namespace {

// Whether the autograd graph behind `t` has a node whose name contains `name`.
bool graph_has(const torch::Tensor& t, const std::string& name) {
  std::vector<std::shared_ptr<torch::autograd::Node>> todo{t.grad_fn()};
  std::set<torch::autograd::Node*> seen;
  while (!todo.empty()) {
    auto node = todo.back();
    todo.pop_back();
    if (!node || !seen.insert(node.get()).second) continue;
    if (node->name().find(name) != std::string::npos) return true;
    for (const auto& edge : node->next_edges()) todo.push_back(edge.function);
  }
  return false;
}

struct Pass {
  torch::Tensor out;
  std::map<std::string, torch::Tensor> grads;
  bool fused = false;
};

Pass run_pass(MultiHeadAttention& mha, const torch::Tensor& x, bool fused) {
  attune::models::fusions().qkv = fused;
  attune::models::fusions().qkv_cpu = fused;
  mha->zero_grad();
  Pass p;
  p.out = mha->forward(x, {}, padding_mask(lengths_mask({4, 3}, 4)));
  p.fused = graph_has(p.out, "CatBackward");
  (p.out * torch::arange(p.out.numel(), kDouble).view(p.out.sizes()).cos()).sum().backward();
  // Parameters of an inactive adapter get no gradient (undefined on LibTorch 2.x, where
  // zero_grad() drops gradients instead of zeroing them).
  for (const auto& item : mha->named_parameters()) {
    if (item.value().grad().defined()) p.grads[item.key()] = item.value().grad().clone();
  }
  attune::models::fusions() = attune::models::Fusions();
  return p;
}

}  // namespace

TEST_CASE("the fused query/key/value projection equals three projections, with gradients", "[attention]") {
  torch::manual_seed(8);
  MultiHeadAttention mha(MultiHeadAttentionOptions(12, 3));
  mha->query->add_adapter("a", attune::peft::LoraAdapter(12, 12, attune::peft::LoraOptions(2, 4.0)).ptr());
  mha->value->add_adapter("a", attune::peft::LoraAdapter(12, 12, attune::peft::LoraOptions(2, 4.0)).ptr());
  mha->key->add_adapter("a", attune::peft::Ia3Adapter(12, 12, /*feedforward=*/false).ptr());
  mha->to(torch::kDouble);
  mha->train();
  {
    torch::NoGradGuard no_grad;
    for (auto& item : mha->named_parameters()) item.value().normal_();  // LoRA's B and IA3's scales away from their identity starts
  }
  for (auto* layer : {&mha->query, &mha->key, &mha->value}) (*layer)->set_active_adapter("a");
  const torch::Tensor x = torch::randn({2, 4, 12}, kDouble);

  const Pass fused = run_pass(mha, x, true), plain = run_pass(mha, x, false);
  CHECK(fused.fused);
  CHECK_FALSE(plain.fused);
  CHECK(close(fused.out, plain.out));
  REQUIRE(fused.grads.size() == plain.grads.size());
  for (const auto& [name, grad] : plain.grads) {
    INFO(name);
    CHECK(close(fused.grads.at(name), grad));
  }

  SECTION("an adapter that rewrites the layer input keeps the three projections") {
    mha->key->add_adapter("b", attune::peft::Ia3Adapter(12, 12, /*feedforward=*/true).ptr());
    mha->key->set_active_adapter("b");
    mha->to(torch::kDouble);
    const Pass p = run_pass(mha, x, true);
    CHECK_FALSE(p.fused);
  }
}
