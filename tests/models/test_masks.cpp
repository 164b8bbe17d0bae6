// Attention masks and position biases against hand-written dense references.
#include "tests/catch.h"

#include "models/attention/attention.h"
#include "models/attention/masks.h"
#include "models/attention/rollout.h"
#include "tests/common/errors.h"

#include <cmath>
#include <cstdlib>

namespace masks = attune::models::masks;
using attune::testing::error_of;

namespace {

// The dense reference: allowed(query key-position, key position) in plain loops.
torch::Tensor dense(int64_t t, int64_t s, const std::function<bool(int64_t, int64_t)>& allowed) {
  torch::Tensor out = torch::zeros({t, s}, torch::kBool);
  for (int64_t i = 0; i < t; ++i)
    for (int64_t j = 0; j < s; ++j) out[i][j] = allowed(i + s - t, j);
  return out;
}

}  // namespace

TEST_CASE("each mask equals its dense reference, square and with a longer key sequence", "[masks]") {
  for (auto [t, s] : std::vector<std::pair<int64_t, int64_t>>{{9, 9}, {4, 11}}) {
    INFO(t << "x" << s);
    CHECK(masks::causal(t, s).equal(dense(t, s, [](int64_t i, int64_t j) { return j <= i; })));
    CHECK(masks::sliding_window(t, s, 2).equal(dense(t, s, [](int64_t i, int64_t j) { return std::abs(i - j) <= 2; })));
    CHECK(masks::dilated_window(t, s, 2, 3).equal(
        dense(t, s, [](int64_t i, int64_t j) { return std::abs(i - j) <= 6 && std::abs(i - j) % 3 == 0; })));
    CHECK(masks::block_local(t, s, 4).equal(dense(t, s, [](int64_t i, int64_t j) { return i / 4 == j / 4; })));
    CHECK(masks::global_tokens(t, s, {0, 8}).equal(
        dense(t, s, [](int64_t i, int64_t j) { return i == 0 || i == 8 || j == 0 || j == 8; })));
    // A 3x3 grid after one leading token (a class token): row = (p-1)/3, column = (p-1)%3.
    CHECK(masks::grid_window(t, s, 3, 1, 1).equal(dense(t, s, [](int64_t i, int64_t j) {
      const bool on = i >= 1 && i <= 9 && j >= 1 && j <= 9;
      return on && std::abs((i - 1) / 3 - (j - 1) / 3) <= 1 && std::abs((i - 1) % 3 - (j - 1) % 3) <= 1;
    })));
    CHECK(masks::from_function(t, s, [](int64_t i, int64_t j) { return (i + j) % 2 == 0; })
              .equal(dense(t, s, [](int64_t i, int64_t j) { return (i + j) % 2 == 0; })));
  }
}

TEST_CASE("JSON mask specs compose and fail naming the key", "[masks]") {
  // Longformer-style: a causal sliding window plus two global tokens.
  const masks::MaskSpec spec(
      nlohmann::json::parse(R"({"any": [{"all": [{"causal": true}, {"window": 2}]}, {"global": [0, 5]}]})"), "attention.mask");
  CHECK(spec.build(8, 8).equal(dense(8, 8, [](int64_t i, int64_t j) {
    return (j <= i && i - j <= 2) || i == 0 || i == 5 || j == 0 || j == 5;
  })));
  CHECK(masks::MaskSpec(nlohmann::json::parse(R"({"not": {"block": 3}})"), "m").build(6, 6).equal(
      dense(6, 6, [](int64_t i, int64_t j) { return i / 3 != j / 3; })));
  CHECK(masks::MaskSpec(nlohmann::json::parse(R"({"dilated": {"width": 1, "dilation": 2}})"), "m").build(5, 5).equal(
      masks::dilated_window(5, 5, 1, 2)));
  CHECK(!masks::MaskSpec(nullptr, "m").build(3, 3).defined());
  CHECK(error_of([] { masks::MaskSpec(nlohmann::json::parse(R"({"windows": 2})"), "model.mask"); }) ==
        "model.mask: unknown mask 'windows' (known: causal, window, dilated, block, grid, global, all, any, not)");
  CHECK(masks::MaskSpec(nlohmann::json::parse(R"({"grid": {"side": 3, "radius": 0, "offset": 1}})"), "m").build(10, 10).equal(
      masks::grid_window(10, 10, 3, 0, 1)));
  CHECK(error_of([] { masks::MaskSpec(nlohmann::json::parse(R"({"grid": {"side": 3, "radius": -1}})"), "m"); }) ==
        "m.grid.radius: must be an integer >= 0, got -1");
  CHECK(error_of([] { masks::MaskSpec(nlohmann::json::parse(R"({"grid": {"side": 3, "radius": 1, "rows": 2}})"), "m"); }) ==
        "m.grid.rows: unknown key (known: side, radius, offset)");
  CHECK(error_of([] { masks::MaskSpec(nlohmann::json::parse(R"({"all": [{"window": 0}]})"), "model.mask"); }) ==
        "model.mask.all[0].window: must be an integer >= 1, got 0");
  CHECK(error_of([] { masks::MaskSpec(nlohmann::json::parse(R"({"dilated": {"width": 2}})"), "m"); }) ==
        "m.dilated: must be {\"width\": W, \"dilation\": D}");
}

TEST_CASE("attend with a window mask equals attention with the hidden keys dropped by hand", "[masks]") {
  torch::manual_seed(1);
  const torch::Tensor q = torch::randn({1, 2, 6, 4}), k = torch::randn({1, 2, 6, 4}), v = torch::randn({1, 2, 6, 4});
  const torch::Tensor out = attune::models::attend(q, k, v, masks::sliding_window(6, 6, 1), false, 0.0, false);
  for (int64_t i = 0; i < 6; ++i) {
    const int64_t lo = std::max<int64_t>(0, i - 1), hi = std::min<int64_t>(5, i + 1);
    const torch::Tensor ks = k.narrow(2, lo, hi - lo + 1), vs = v.narrow(2, lo, hi - lo + 1);
    const torch::Tensor w = torch::softmax(torch::matmul(q.narrow(2, i, 1), ks.transpose(-1, -2)) / 2.0, -1);
    CHECK(torch::allclose(out.narrow(2, i, 1), torch::matmul(w, vs), 1e-5, 1e-6));
  }
}

TEST_CASE("ALiBi slopes and bias; learned relative bias by clipped distance", "[masks]") {
  const std::vector<double> eight = masks::alibi_slopes(8);
  for (int i = 0; i < 8; ++i) CHECK(eight[i] == Approx(std::pow(0.5, i + 1)));
  // Six heads: the four of n = 4, then the 1st and 3rd of n = 8 (BLOOM's build_alibi_tensor).
  const std::vector<double> six = masks::alibi_slopes(6);
  const std::vector<double> expected = {0.25, 1.0 / 16, 1.0 / 64, 1.0 / 256, 0.5, 0.125};
  for (int i = 0; i < 6; ++i) CHECK(six[i] == Approx(expected[i]));
  const torch::Tensor bias = masks::alibi_bias(2, 3, 5);
  REQUIRE(bias.sizes() == torch::IntArrayRef({2, 3, 5}));
  CHECK(bias[0][0][4].item<float>() == Approx(-(1.0 / 16) * 2));   // head 0 (slope 1/16): query at 2, key 4
  CHECK(bias[1][0][4].item<float>() == Approx(-(1.0 / 256) * 2));  // head 1 (slope 1/256)
  CHECK(bias[0][2][4].item<float>() == 0.0f);

  attune::models::RelativePositionBias rel(attune::models::RelativePositionBiasOptions(2, 2));
  {
    torch::NoGradGuard no_grad;
    rel->bias->weight.copy_(torch::arange(10, torch::kFloat).view({5, 2}));  // row = distance + 2
  }
  const torch::Tensor b = rel->forward(4, 4);
  CHECK(b.sizes() == torch::IntArrayRef({2, 4, 4}));
  CHECK(b[0][0][3].item<float>() == 8.0f);  // distance +3 clipped to +2: row 4, head 0
  CHECK(b[1][3][0].item<float>() == 1.0f);  // distance -3 clipped to -2: row 0, head 1
  CHECK(b[0][2][2].item<float>() == 4.0f);  // distance 0: row 2

  // A bias joined with a mask: the bias where allowed, the lowest value elsewhere.
  const torch::Tensor joined = masks::with_bias(masks::causal(3, 3), masks::alibi_bias(2, 3, 3));
  CHECK(joined[0][1][0].item<float>() == Approx(-0.0625));
  CHECK(joined[0][0][1].item<float>() == std::numeric_limits<float>::lowest());
}

TEST_CASE("attention rollout: identity attention rolls out to the identity; rows stay distributions", "[rollout]") {
  const torch::Tensor eye = torch::eye(5).unsqueeze(0).expand({3, 5, 5});
  CHECK(torch::allclose(attune::models::attention_rollout({eye, eye, eye}), torch::eye(5)));
  // Uniform attention, residual 0.5: one layer gives 0.5 I + 0.5/5; two layers its square.
  const torch::Tensor uniform = torch::full({2, 5, 5}, 0.2);
  const torch::Tensor one = 0.5 * torch::eye(5) + 0.1;
  CHECK(torch::allclose(attune::models::attention_rollout({uniform}), one));
  CHECK(torch::allclose(attune::models::attention_rollout({uniform, uniform}), torch::matmul(one, one), 1e-5, 1e-6));
  torch::manual_seed(2);
  const torch::Tensor random = torch::softmax(torch::randn({4, 6, 6}), -1);
  CHECK(torch::allclose(attune::models::attention_rollout({random, random}).sum(-1), torch::ones({6}), 1e-5, 1e-6));
}
