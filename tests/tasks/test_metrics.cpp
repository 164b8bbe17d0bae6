#include "tests/catch.h"

#include "tasks/classification/metrics.h"
#include "core/compat.h"
#include "tasks/engine/optimizer.h"

#include <sstream>

using attune::classification::classification_metrics;

TEST_CASE("classification metrics on a hand-made confusion", "[metrics]") {
  // truth:     a a a b b c
  // predicted: a a b b c c
  const auto m = classification_metrics({0, 0, 1, 1, 2, 2}, {0, 0, 0, 1, 1, 2}, {"a", "b", "c"});
  CHECK(m["accuracy"].get<double>() == Approx(4.0 / 6));
  // a: P=1, R=2/3, F1=0.8; b: P=1/2, R=1/2, F1=0.5; c: P=1/2, R=1, F1=2/3
  CHECK(m["per_class"]["a"]["f1"].get<double>() == Approx(0.8));
  CHECK(m["per_class"]["b"]["precision"].get<double>() == Approx(0.5));
  CHECK(m["per_class"]["c"]["recall"].get<double>() == Approx(1.0));
  CHECK(m["per_class"]["c"]["f1"].get<double>() == Approx(2.0 / 3));
  CHECK(m["macro_f1"].get<double>() == Approx((0.8 + 0.5 + 2.0 / 3) / 3));
  CHECK(m["confusion_matrix"] == nlohmann::json({{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  CHECK(m["per_class"]["a"]["support"] == 3);
}

TEST_CASE("a class never predicted has precision 0, not NaN", "[metrics]") {
  const auto m = classification_metrics({0, 0}, {0, 1}, {"x", "y"});
  CHECK(m["per_class"]["y"]["precision"].get<double>() == 0.0);
  CHECK(m["per_class"]["y"]["f1"].get<double>() == 0.0);
  CHECK(m["macro_f1"].get<double>() == Approx((2.0 / 3) / 2));
}

TEST_CASE("linear warm-up and decay match transformers' schedule", "[optimizer]") {
  using attune::engine::linear_schedule;
  CHECK(linear_schedule(0, 10, 100) == 0.0);
  CHECK(linear_schedule(5, 10, 100) == Approx(0.5));
  CHECK(linear_schedule(10, 10, 100) == Approx(1.0));
  CHECK(linear_schedule(55, 10, 100) == Approx(0.5));
  CHECK(linear_schedule(100, 10, 100) == 0.0);
  CHECK(linear_schedule(0, 0, 10) == Approx(1.0));
}

TEST_CASE("AdamW excludes biases and norms from weight decay", "[optimizer]") {
  torch::nn::Sequential net(torch::nn::Linear(4, 3), torch::nn::LayerNorm(torch::nn::LayerNormOptions({3})));
  net[0]->as<torch::nn::Linear>()->bias.requires_grad_(false);  // frozen: must not reach the optimizer
  auto opt = attune::engine::make_adamw(*net, {});
  REQUIRE(opt->param_groups().size() == 2);
  CHECK(opt->param_groups()[0].params().size() == 1);  // the Linear weight
  CHECK(static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options()).weight_decay() == Approx(0.01));
  CHECK(opt->param_groups()[1].params().size() == 2);  // LayerNorm weight and bias
  CHECK(static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[1].options()).weight_decay() == 0.0);
}

namespace {

// A small net with one unused parameter (no gradient), as a pooler is under mean pooling.
struct TwoLayer : torch::nn::Module {
  TwoLayer() {
    a = register_module("a", torch::nn::Linear(6, 5));
    b = register_module("b", torch::nn::Linear(5, 3));
    unused = register_parameter("unused", torch::ones({2, 2}));
  }
  torch::Tensor forward(const torch::Tensor& x) { return b(torch::tanh(a(x))); }
  torch::nn::Linear a{nullptr}, b{nullptr};
  torch::Tensor unused;
};

void backward_once(TwoLayer& net, int64_t seed) {
  torch::manual_seed(seed);
  net.forward(torch::randn({4, 6})).pow(2).sum().backward();
}

}  // namespace

TEST_CASE("gradient clipping without host sync equals torch's clip_grad_norm_", "[optimizer]") {
  for (double max_norm : {0.05, 100.0}) {  // clipped, and left alone
    torch::manual_seed(3);
    TwoLayer mine, theirs;
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < mine.parameters().size(); ++i) theirs.parameters()[i].copy_(mine.parameters()[i]);
    {
      torch::AutoGradMode grad(true);
      backward_once(mine, 1);
      backward_once(theirs, 1);
    }
    const torch::Tensor norm = attune::engine::clip_grad_norm(mine.parameters(), max_norm);
    const double expected = torch::nn::utils::clip_grad_norm_(theirs.parameters(), max_norm);
    CHECK(norm.item<double>() == Approx(expected).epsilon(1e-6));
    for (size_t i = 0; i < mine.parameters().size(); ++i) {
      const torch::Tensor g = mine.parameters()[i].grad();
      if (g.defined()) CHECK(torch::allclose(g, theirs.parameters()[i].grad(), 1e-6, 1e-7));
    }
    CHECK_FALSE(mine.unused.grad().defined());
  }
}

TEST_CASE("fused AdamW steps as LibTorch's AdamW, also across a saved and reloaded state", "[optimizer]") {
  // LibTorch 1.13 has no fused kernel (the two paths are then one); the GPU build runs both.
  torch::manual_seed(5);
  TwoLayer fused_net, plain_net;
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < fused_net.parameters().size(); ++i) plain_net.parameters()[i].copy_(fused_net.parameters()[i]);
  }
  attune::engine::OptimizerOptions o;
  o.lr = 1e-2;
  o.weight_decay = 0.1;
  auto plain = attune::engine::make_adamw(plain_net, [&] { auto p = o; p.fused = false; return p; }());
  auto fused = attune::engine::make_adamw(fused_net, o);
  CHECK(fused->fused() == attune::compat::kHasFusedAdamW);
  CHECK_FALSE(plain->fused());
  auto step = [](TwoLayer& net, torch::optim::Optimizer& opt, int64_t seed) {
    opt.zero_grad();
    backward_once(net, seed);
    opt.step();
  };
  step(fused_net, *fused, 1);
  step(fused_net, *fused, 2);
  // A resume: the state goes through optimizer.pt into a fresh optimizer.
  torch::serialize::OutputArchive out;
  fused->save(out);
  std::stringstream bytes;
  out.save_to(bytes);
  auto resumed = attune::engine::make_adamw(fused_net, o);
  torch::serialize::InputArchive in;
  in.load_from(bytes);
  resumed->load(in);
  step(fused_net, *resumed, 3);
  for (int64_t seed : {1, 2, 3}) step(plain_net, *plain, seed);
  for (size_t i = 0; i < fused_net.parameters().size(); ++i) {
    CHECK(torch::allclose(fused_net.parameters()[i], plain_net.parameters()[i], 1e-5, 1e-6));
  }
  CHECK(torch::equal(fused_net.unused, torch::ones({2, 2})));  // no gradient, no update, no decay
}
